-- pause_set.lua: pause stage KEYS[1], by an operator or because no task of it can succeed now.
--
-- KEYS[1]  the stage's pause hash (keys.stage_pause); fields as in pause_check.lua
-- KEYS[2]  the trial token (keys.stage_pause_trial)
-- ARGV[1]  source: 'manual' (an operator; lifted only by an operator) or 'auto' (a stage-wide
--          failure; lifted by a trial task that does not meet it again)
-- ARGV[2]  reason, shown to operators
-- ARGV[3]  auto only: ms from now until a trial task may go
--
-- A manual pause replaces an automatic one (and keeps since_ms if it was already manual). An
-- automatic pause never replaces a manual one; over an automatic one it renews the reason and
-- until_ms and keeps since_ms, and it ends the trial that reported it (the token is deleted).
-- Times are the server's (TIME).
--
-- Returns {source, reason, since_ms, until_ms, now_ms} as stored after the call.

local key, trial_key = KEYS[1], KEYS[2]
local source, reason = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

if source ~= 'manual' and source ~= 'auto' then
  return redis.error_reply('pause_set.lua: unknown source ' .. tostring(source))
end
local h = redis.call('HMGET', key, 'source', 'reason', 'since_ms', 'until_ms')
local since_ms = tonumber(h[3]) or now_ms
if source == 'auto' and h[1] == 'manual' then
  return {h[1], h[2] or '', since_ms, 0, now_ms}
end
if source == 'manual' and h[1] ~= 'manual' then since_ms = now_ms end
local until_ms = 0
if source == 'auto' then
  until_ms = now_ms + tonumber(ARGV[3])
  redis.call('DEL', trial_key)
end
redis.call('HSET', key, 'source', source, 'reason', reason,
  'since_ms', string.format('%.0f', since_ms), 'until_ms', string.format('%.0f', until_ms))
return {source, reason, since_ms, until_ms, now_ms}
