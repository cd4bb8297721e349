-- breaker_status.lua: the state of circuit breaker KEYS[1] as a caller would find it now.
-- Reads only.
--
-- KEYS[1]  the breaker's hash (keys.breaker); fields as in breaker_before_call.lua
-- ARGV[1]  reset timeout in ms
-- ARGV[2]  half-open max calls
--
-- An open breaker whose reset timeout has passed is reported half-open: the next call turns it
-- so and is admitted as a trial. Times are the server's (TIME).
--
-- Returns {state, failures, opened_at_ms, retry_after_ms, trials, now_ms}: state code (0 closed,
-- 1 open, 2 half-open), consecutive failures, when it last opened (0 if never or closed), ms
-- until a call could be admitted (0 if one would be now), half-open trials out, server time ms.

local CLOSED, OPEN, HALF_OPEN = 0, 1, 2

local key = KEYS[1]
local reset_ms = tonumber(ARGV[1])
local max_trials = tonumber(ARGV[2])
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local h = redis.call('HMGET', key, 'state', 'failures', 'opened_at_ms', 'trials', 'trial_deadline_ms')
local state = tonumber(h[1]) or CLOSED
local failures = tonumber(h[2]) or 0
local opened_at_ms = tonumber(h[3]) or 0
local trials = tonumber(h[4]) or 0
local trial_deadline_ms = tonumber(h[5]) or 0
local retry_after_ms = 0

if state == CLOSED then
  opened_at_ms = 0
elseif state == OPEN then
  if now_ms < opened_at_ms + reset_ms then
    retry_after_ms = opened_at_ms + reset_ms - now_ms
  else
    state, trials = HALF_OPEN, 0
  end
elseif trials >= max_trials then
  if now_ms < trial_deadline_ms then
    retry_after_ms = trial_deadline_ms - now_ms
  else
    trials = 0
  end
end
return {state, failures, opened_at_ms, retry_after_ms, trials, now_ms}
