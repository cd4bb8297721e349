-- breaker_before_call.lua: may one more call go to the service behind circuit breaker KEYS[1]?
-- Also records the successes the caller has not reported yet (they ride on this round trip).
--
-- KEYS[1]  the breaker's state hash (keys.breaker): state (0 closed, 1 open, 2 half-open),
--          opened_at_ms, trials (half-open trial calls admitted and not yet reported),
--          trial_deadline_ms (when those trials count as lost). A missing hash is a closed breaker.
-- KEYS[2]  the breaker's window of outcomes (keys.breaker_calls; see breaker_window.lua)
-- ARGV[1]  reset timeout in ms: how long the breaker stays open before it admits trial calls;
--          also how long admitted trials may run before their slots are handed out again (a
--          replica that died during a trial never reports back)
-- ARGV[2]  half-open max calls: trial calls admitted at once, across every replica
-- ARGV[3]  state TTL in ms: the state hash expires after this long without a write
-- ARGV[4]  successes the caller saw since it last reported, ARGV[5] how many of them were slow
--          (recorded only while closed: outcomes of calls admitted before it opened are moot)
-- ARGV[6]  window calls: outcomes the window keeps; ARGV[7] window in ms
--
-- Closed: admit. Open: refuse until opened_at_ms + reset timeout, then turn half-open. Half-open:
-- admit while fewer than ARGV[2] trials are out, else refuse. Times are the server's (TIME).
--
-- Returns {admitted, trial, retry_after_ms, state_before, state_after}:
--   admitted        1 if the call may go ahead, else 0
--   trial           1 if it was admitted as a half-open trial (its outcome decides the state)
--   retry_after_ms  0 if admitted; else ms until a call could be admitted, as far as known now
--   state_before    state code before this call, state_after after it (they differ when this
--                   call turned the breaker half-open)

-- #include breaker_window

local CLOSED, OPEN, HALF_OPEN = 0, 1, 2  -- etl_core.breaker_status.BreakerCode

local key, calls_key = KEYS[1], KEYS[2]
local reset_ms = tonumber(ARGV[1])
local max_trials = tonumber(ARGV[2])
local ttl_ms = tonumber(ARGV[3])
local successes, slow_successes = tonumber(ARGV[4]), tonumber(ARGV[5])
local window_calls, window_ms = tonumber(ARGV[6]), tonumber(ARGV[7])
local now_ms = server_now_ms()

local h = redis.call('HMGET', key, 'state', 'opened_at_ms', 'trials', 'trial_deadline_ms')
local state = tonumber(h[1]) or CLOSED
local opened_at_ms = tonumber(h[2]) or 0
local trials = tonumber(h[3]) or 0
local trial_deadline_ms = tonumber(h[4]) or 0
local before = state

if state == CLOSED then
  window_push(calls_key, 'o', successes - slow_successes, now_ms, window_calls, window_ms)
  window_push(calls_key, 'O', slow_successes, now_ms, window_calls, window_ms)
  return {1, 0, 0, before, state}
end

if state == OPEN then
  local half_open_at_ms = opened_at_ms + reset_ms
  if now_ms < half_open_at_ms then
    return {0, 0, half_open_at_ms - now_ms, before, state}
  end
  state = HALF_OPEN
  trials = 0
end

if trials >= max_trials and now_ms >= trial_deadline_ms then
  trials = 0  -- the trials out were admitted a reset timeout ago and never reported: lost
end

if trials < max_trials then
  trials = trials + 1
  redis.call('HSET', key, 'state', state, 'trials', trials,
    'trial_deadline_ms', string.format('%.0f', now_ms + reset_ms))
  redis.call('PEXPIRE', key, ttl_ms)
  return {1, 1, 0, before, state}
end

return {0, 0, trial_deadline_ms - now_ms, before, state}
