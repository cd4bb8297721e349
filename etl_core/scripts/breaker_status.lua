-- breaker_status.lua: the state of circuit breaker KEYS[1] as a caller would find it now.
-- Reads only.
--
-- KEYS[1]  the breaker's state hash (keys.breaker); fields as in breaker_before_call.lua
-- KEYS[2]  the breaker's window of outcomes (keys.breaker_calls; see breaker_window.lua)
-- ARGV[1]  reset timeout in ms
-- ARGV[2]  half-open max calls
-- ARGV[3]  window in ms
--
-- An open breaker whose reset timeout has passed is reported half-open: the next call turns it
-- so and is admitted as a trial. Times are the server's (TIME).
--
-- Returns {state, calls, failures, slow, opened_at_ms, retry_after_ms, trials, now_ms}: state
-- code (0 closed, 1 open, 2 half-open), the window's outcomes, failures and slow calls, when it
-- last opened (0 if never or closed), ms until a call could be admitted (0 if one would be now),
-- half-open trials out, server time ms.

-- #include breaker_window

local CLOSED, OPEN, HALF_OPEN = 0, 1, 2

local key, calls_key = KEYS[1], KEYS[2]
local reset_ms = tonumber(ARGV[1])
local max_trials = tonumber(ARGV[2])
local window_ms = tonumber(ARGV[3])
local now_ms = server_now_ms()

local h = redis.call('HMGET', key, 'state', 'opened_at_ms', 'trials', 'trial_deadline_ms')
local state = tonumber(h[1]) or CLOSED
local opened_at_ms = tonumber(h[2]) or 0
local trials = tonumber(h[3]) or 0
local trial_deadline_ms = tonumber(h[4]) or 0
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
local calls, failures, slow_calls = window_counts(calls_key, now_ms, window_ms)
return {state, calls, failures, slow_calls, opened_at_ms, retry_after_ms, trials, now_ms}
