-- evictd fenced fills: give a lease back without filling, e.g. when the loader failed
-- (contract: LAYOUT.md "release.lua").
-- KEYS[1] lease key, ARGV[1] lease value returned by lease.lua
-- Returns 1 if the lease was still held and is now released, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
