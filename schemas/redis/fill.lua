-- evictd fenced fills: write a loaded value unless it may be stale (contract: LAYOUT.md "fill.lua").
-- With n tags and s shapes (the key and tag shapes of the key registry that this key and its tags match):
-- KEYS[1] application key, KEYS[2] its lease key,
-- KEYS[3] its key marker, KEYS[4 .. 3+n] the tag markers, KEYS[4+n .. 3+n+s] the shape markers,
-- KEYS[4+n+s .. 3+2n+s] the tag sets, KEYS[4+2n+s .. 3+2n+2s] the shape sets (same orders)
-- ARGV[1] lease value returned by lease.lua, ARGV[2] value, ARGV[3] value TTL ms (> 0),
-- ARGV[4] marker TTL ms, ARGV[5] n, ARGV[6] s,
-- optional ARGV[7] the load time in ms (early refresh): then KEYS[4+2n+2s] is the load-time key
-- Returns 'ok' | 'lease-lost' | 'too-old' | 'invalidated'
local n = tonumber(ARGV[5])
local s = tonumber(ARGV[6])
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  -- Expired, taken over, or gone with a Redis restart (and the markers with it).
  return 'lease-lost'
end
redis.call('DEL', KEYS[2])
local sep = string.find(ARGV[1], ':', 1, true)
local start = tonumber(string.sub(ARGV[1], 1, sep - 1))
local t = redis.call('TIME')
local nowMicros = tonumber(t[1]) * 1000000 + tonumber(t[2])
local age = nowMicros - start
-- A marker lives markerTtl: an older load could predate a marker that already expired.
-- A negative age means the server clock stepped back; nothing can be concluded then.
if age < 0 or age >= tonumber(ARGV[4]) * 1000 then
  return 'too-old'
end
for i = 3, 3 + n + s do
  local marker = redis.call('GET', KEYS[i])
  if marker and tonumber(marker) >= start then
    return 'invalidated'
  end
end
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
-- The load time (XFetch's delta) lives exactly as long as the value it was measured for.
local loadTimeKey = KEYS[4 + 2 * n + 2 * s]
if ARGV[7] and loadTimeKey then
  redis.call('SET', loadTimeKey, ARGV[7], 'PX', ttl)
end

-- Keep a set alive at least as long as its newest member.
local function outlive(set)
  local setTtl = redis.call('PTTL', set)
  if setTtl == -2 or (setTtl >= 0 and setTtl < ttl) then
    return true
  end
  return false
end
for i = 4 + n + s, 3 + 2 * n + s do
  local extend = outlive(KEYS[i])
  redis.call('SADD', KEYS[i], KEYS[1])
  if extend then redis.call('PEXPIRE', KEYS[i], ttl) end
end
-- Shape sets hold every key of a shape, so they are scored by expiry (ms) and pruned as they
-- grow: they stay as large as the live cached keys of their shapes, not every key ever filled.
local nowMs = math.floor(nowMicros / 1000)
for i = 4 + 2 * n + s, 3 + 2 * n + 2 * s do
  local extend = outlive(KEYS[i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', nowMs)
  redis.call('ZADD', KEYS[i], nowMs + ttl, KEYS[1])
  if extend then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 'ok'
