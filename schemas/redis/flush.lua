-- evictd table-wide invalidation: fence and detach whole key and tag shapes (contract: LAYOUT.md "flush.lua").
-- With s shapes:
-- KEYS[1 .. s] the shape markers, KEYS[s+1 .. 2s] the shape sets,
-- KEYS[2s+1] the cleanup index, KEYS[2s+2 .. 3s+1] a new, unused cleanup set name per shape (same order)
-- ARGV[1] s, ARGV[2] marker TTL in milliseconds
-- Returns the number of cached keys handed to cleanup.
-- O(s): the members are deleted later, by drain.lua, a bounded slice at a time.
local s = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = t[1] .. string.format('%06d', tonumber(t[2]))
local detached = 0
for i = 1, s do
  -- The marker first: from here on no fill whose lease began earlier can land under this shape.
  redis.call('SET', KEYS[i], now, 'PX', ARGV[2])
  local set = KEYS[s + i]
  local members = redis.call('ZCARD', set)
  if members > 0 then
    -- Every key filled before the marker is in the set: move it aside whole (keeps its TTL), so
    -- fills after the marker start a new set and cleanup touches exactly the keys to delete.
    local cleanup = KEYS[2 * s + 1 + i]
    redis.call('RENAME', set, cleanup)
    redis.call('SADD', KEYS[2 * s + 1], cleanup)
    detached = detached + members
  end
end
return detached
