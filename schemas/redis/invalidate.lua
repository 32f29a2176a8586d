-- evictd invalidation: delete keys and tags and write their markers (contract: LAYOUT.md "invalidate.lua").
-- With a = ARGV[1] keys and b = ARGV[2] tags:
-- KEYS[1 .. a] application keys, KEYS[a+1 .. 2a] their key markers,
-- KEYS[2a+1 .. 2a+b] tag sets, KEYS[2a+b+1 .. 2a+2b] their tag markers (same order)
-- ARGV[3] marker TTL in milliseconds
-- Returns the number of tag members deleted.
-- Note: the member keys read from the tag sets are not declared in KEYS (single primary only).
local a = tonumber(ARGV[1])
local b = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] .. string.format('%06d', tonumber(t[2]))

-- unpack() is bounded by the Lua C stack, so large lists are unlinked in slices.
local function unlinkAll(list, from, to)
  local slice = 1000
  for i = from, to, slice do
    redis.call('UNLINK', unpack(list, i, math.min(i + slice - 1, to)))
  end
end

if a > 0 then
  unlinkAll(KEYS, 1, a)
end
for i = a + 1, 2 * a do
  redis.call('SET', KEYS[i], now, 'PX', ARGV[3])
end
local members = 0
for j = 1, b do
  local set = KEYS[2 * a + j]
  local keys = redis.call('SMEMBERS', set)
  if #keys > 0 then
    unlinkAll(keys, 1, #keys)
    members = members + #keys
  end
  redis.call('UNLINK', set)
  redis.call('SET', KEYS[2 * a + b + j], now, 'PX', ARGV[3])
end
return members
