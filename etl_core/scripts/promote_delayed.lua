-- promote_delayed.lua: move due delayed retries back into their stream.
--
-- KEYS[1]  delayed-retry sorted set (score: due time in ms, server clock; member: JSON object of
--          the entry's fields)
-- KEYS[2]  the stream to re-add them to
-- ARGV[1]  the most entries to move in one call
--
-- Each due member is added to the stream and removed from the set in the same script, so a retry
-- is never lost and never added twice, however many workers run this at once.
-- Returns how many moved.

local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  local fields = cjson.decode(member)
  local args = {}
  for k, v in pairs(fields) do
    args[#args + 1] = k
    args[#args + 1] = tostring(v)
  end
  redis.call('XADD', KEYS[2], '*', unpack(args))
  redis.call('ZREM', KEYS[1], member)
end
return #due
