-- evictd early refresh: the hit path's one read when early refresh is on (contract: LAYOUT.md "read.lua").
-- Read-only. KEYS[1] application key, KEYS[2] its load-time key
-- Returns {value | false, PTTL of the value, load time | false}
return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]), redis.call('GET', KEYS[2])}
