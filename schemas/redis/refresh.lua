-- evictd fenced fills: take the fill lease to refresh a key that is still cached
-- (early refresh; contract: LAYOUT.md "refresh.lua").
-- KEYS[1] application key, KEYS[2] its lease key
-- ARGV[1] caller token (unique per attempt), ARGV[2] lease TTL in milliseconds
-- Returns {'lease', leaseValue} | {'busy'} | {'gone'}
if redis.call('EXISTS', KEYS[1]) == 0 then
  -- Invalidated or expired since the caller read it: an ordinary miss (lease.lua) takes over.
  return {'gone'}
end
local t = redis.call('TIME')
-- Same clock and format as lease.lua: fill.lua cannot tell a refresh lease from a miss lease.
local lease = t[1] .. string.format('%06d', tonumber(t[2])) .. ':' .. ARGV[1]
if redis.call('SET', KEYS[2], lease, 'NX', 'PX', ARGV[2]) then
  return {'lease', lease}
end
return {'busy'}
