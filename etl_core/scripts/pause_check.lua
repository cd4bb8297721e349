-- pause_check.lua: is stage KEYS[1] paused, and may this caller run the one trial task that
-- decides whether an automatic pause is over?
--
-- KEYS[1]  the stage's pause hash (keys.stage_pause): source ('auto' or 'manual'), reason,
--          since_ms (when it was paused), until_ms (auto only: when a trial may go). Missing: not
--          paused.
-- KEYS[2]  the trial token (keys.stage_pause_trial): set while one replica runs the trial task
-- ARGV[1]  trial TTL in ms: how long a trial may run before another replica may start one (a
--          replica that died during its trial never reports back)
-- ARGV[2]  the caller's name, stored in the token (for operators)
--
-- An automatic pause whose until_ms has passed hands the trial token to the first caller that
-- asks; a manual pause never does (only an operator lifts it). Times are the server's (TIME).
--
-- Returns {paused, source, reason, since_ms, until_ms, trial, now_ms}: paused 1 or 0, source and
-- reason ('' when not paused), until_ms 0 unless auto, trial 1 if this caller now holds the token.

local key, trial_key = KEYS[1], KEYS[2]
local trial_ttl_ms = tonumber(ARGV[1])
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local h = redis.call('HMGET', key, 'source', 'reason', 'since_ms', 'until_ms')
if not h[1] then
  return {0, '', '', 0, 0, 0, now_ms}
end
local until_ms = tonumber(h[4]) or 0
local trial = 0
if h[1] == 'auto' and now_ms >= until_ms then
  if redis.call('SET', trial_key, ARGV[2], 'NX', 'PX', trial_ttl_ms) then trial = 1 end
end
return {1, h[1], h[2] or '', tonumber(h[3]) or 0, until_ms, trial, now_ms}
