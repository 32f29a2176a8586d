-- evictd cleanup after a table-wide invalidation: delete one slice of a detached shape set
-- (contract: LAYOUT.md "drain.lua").
-- KEYS[1] the cleanup index, KEYS[2] a cleanup set named in it
-- ARGV[1] most keys to delete in this call
-- Returns {deleted, left}; a set with nothing left is removed from the index.
-- Note: the member keys are not declared in KEYS (single primary only).
local popped = redis.call('ZPOPMIN', KEYS[2], ARGV[1])
local keys = {}
for i = 1, #popped, 2 do
  keys[#keys + 1] = popped[i]
end
-- unpack() is bounded by the Lua C stack: unlink in slices.
for i = 1, #keys, 1000 do
  redis.call('UNLINK', unpack(keys, i, math.min(i + 999, #keys)))
end
local left = redis.call('ZCARD', KEYS[2])
if left == 0 then
  redis.call('SREM', KEYS[1], KEYS[2])
end
return {#keys, left}
