-- evictd fenced fills: take the fill lease for a missing key (contract: LAYOUT.md "lease.lua").
-- KEYS[1] application key, KEYS[2] its lease key
-- ARGV[1] caller token (unique per attempt), ARGV[2] lease TTL in milliseconds
-- Returns {'hit', value} | {'lease', leaseValue} | {'busy'}
local value = redis.call('GET', KEYS[1])
if value then
  return {'hit', value}
end
local t = redis.call('TIME')
-- Lease start in Redis server microseconds, the same clock and format as the markers.
local lease = t[1] .. string.format('%06d', tonumber(t[2])) .. ':' .. ARGV[1]
if redis.call('SET', KEYS[2], lease, 'NX', 'PX', ARGV[2]) then
  return {'lease', lease}
end
return {'busy'}
