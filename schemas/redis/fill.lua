-- evictd fenced fills: write a loaded value unless it may be stale (contract: LAYOUT.md "fill.lua").
-- KEYS[1] application key, KEYS[2] its lease key, KEYS[3] its key marker,
-- KEYS[4 .. 3+n] the tag markers, KEYS[4+n .. 3+2n] the tag sets (same tag order)
-- ARGV[1] lease value returned by lease.lua, ARGV[2] value, ARGV[3] value TTL ms (> 0),
-- ARGV[4] marker TTL ms, ARGV[5] n (number of tags)
-- Returns 'ok' | 'lease-lost' | 'too-old' | 'invalidated'
local n = tonumber(ARGV[5])
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  -- Expired, taken over, or gone with a Redis restart (and the markers with it).
  return 'lease-lost'
end
redis.call('DEL', KEYS[2])
local sep = string.find(ARGV[1], ':', 1, true)
local start = tonumber(string.sub(ARGV[1], 1, sep - 1))
local t = redis.call('TIME')
local age = tonumber(t[1]) * 1000000 + tonumber(t[2]) - start
-- A marker lives markerTtl: an older load could predate a marker that already expired.
-- A negative age means the server clock stepped back; nothing can be concluded then.
if age < 0 or age >= tonumber(ARGV[4]) * 1000 then
  return 'too-old'
end
for i = 3, 3 + n do
  local marker = redis.call('GET', KEYS[i])
  if marker and tonumber(marker) >= start then
    return 'invalidated'
  end
end
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
for i = 4 + n, 3 + 2 * n do
  -- Keep the tag set alive at least as long as its newest member.
  local setTtl = redis.call('PTTL', KEYS[i])
  redis.call('SADD', KEYS[i], KEYS[1])
  if setTtl == -2 or (setTtl >= 0 and setTtl < ttl) then
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
return 'ok'
