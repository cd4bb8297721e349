-- prune_consumers.lua: remove consumers that are idle AND hold no pending entries.
--
-- KEYS[1]  stream
-- ARGV[1]  consumer group
-- ARGV[2]  minimum idle time in ms before a consumer may be removed
-- ARGV[3]  the caller's own consumer name (never removed)
--
-- The pending check and XGROUP DELCONSUMER run in one script, so a consumer cannot take work
-- between the check and its removal: entries are never orphaned by removing their owner.
-- Returns the names of the consumers removed.

local removed = {}
local consumers = redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
local min_idle = tonumber(ARGV[2])
for _, c in ipairs(consumers) do
  local info = {}
  for j = 1, #c, 2 do info[c[j]] = c[j + 1] end
  if info['name'] ~= ARGV[3] and tonumber(info['pending']) == 0
      and tonumber(info['idle']) >= min_idle then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    removed[#removed + 1] = info['name']
  end
end
return removed
