-- breaker_record.lua: record the outcome of one call made through circuit breaker KEYS[1], with
-- any successes of earlier calls not reported yet, and decide whether the breaker opens or closes.
--
-- KEYS[1]  the breaker's state hash (keys.breaker); fields as in breaker_before_call.lua
-- KEYS[2]  the breaker's window of outcomes (keys.breaker_calls; see breaker_window.lua)
-- ARGV[1]  outcome: 'success' (the service answered; permanent errors count as this),
--          'failure' (a transient failure), or 'release' (a half-open trial ended with no
--          verdict, e.g. it was cancelled: give its slot back)
-- ARGV[2]  weight: how many outcomes this call counts as (a batched request fails or serves
--          every caller whose work it carried)
-- ARGV[3]  1 if this call was slow (took at least the slow-call duration), else 0
-- ARGV[4]  earlier successes not reported yet, ARGV[5] how many of them were slow
-- ARGV[6]  failure-rate threshold (0 < x <= 1): the share of failures that opens the breaker
-- ARGV[7]  slow-call-rate threshold (0 < x <= 1; above 1: slow calls never open it)
-- ARGV[8]  minimum calls: outcomes the window must hold before it may open
-- ARGV[9]  window calls: outcomes the window keeps; ARGV[10] window in ms
-- ARGV[11] state TTL in ms: the state hash expires after this long without a write
--
-- Closed: the outcomes join the window; after a failure or a slow call, the breaker opens when
-- the window holds at least ARGV[8] outcomes and failures / outcomes >= ARGV[6] (or slow /
-- outcomes >= ARGV[7]). Half-open: a success closes it with an empty window; a failure re-opens
-- it with a fresh timeout. Open: the calls that still report were admitted before it opened and
-- change nothing. Times are the server's (TIME).
--
-- Returns {state_before, state_after, calls, failures, slow, opened_at_ms} (state codes: 0
-- closed, 1 open, 2 half-open; the window's counts after this report; opened_at_ms 0 unless open).

-- #include breaker_window

local CLOSED, OPEN, HALF_OPEN = 0, 1, 2  -- etl_core.breaker_status.BreakerCode

local key, calls_key = KEYS[1], KEYS[2]
local outcome = ARGV[1]
local weight = tonumber(ARGV[2])
local slow = tonumber(ARGV[3]) == 1
local successes, slow_successes = tonumber(ARGV[4]), tonumber(ARGV[5])
local failure_rate, slow_rate = tonumber(ARGV[6]), tonumber(ARGV[7])
local min_calls = tonumber(ARGV[8])
local window_calls, window_ms = tonumber(ARGV[9]), tonumber(ARGV[10])
local ttl_ms = tonumber(ARGV[11])
local now_ms = server_now_ms()

if outcome ~= 'success' and outcome ~= 'failure' and outcome ~= 'release' then
  return redis.error_reply('breaker_record.lua: unknown outcome ' .. tostring(outcome))
end

local h = redis.call('HMGET', key, 'state', 'opened_at_ms', 'trials')
local state = tonumber(h[1]) or CLOSED
local opened_at_ms = tonumber(h[2]) or 0
local trials = tonumber(h[3]) or 0
local before = state

if state == CLOSED and outcome ~= 'release' then
  window_push(calls_key, 'o', successes - slow_successes, now_ms, window_calls, window_ms)
  window_push(calls_key, 'O', slow_successes, now_ms, window_calls, window_ms)
  local code = outcome == 'failure' and 'f' or 'o'
  if slow then code = string.upper(code) end
  window_push(calls_key, code, weight, now_ms, window_calls, window_ms)
  if outcome == 'failure' or slow then
    local calls, failures, slow_calls = window_counts(calls_key, now_ms, window_ms)
    if calls >= min_calls
        and (failures >= failure_rate * calls or slow_calls >= slow_rate * calls) then
      state, opened_at_ms = OPEN, now_ms
      redis.call('HSET', key, 'state', OPEN, 'opened_at_ms', string.format('%.0f', now_ms),
        'trials', 0)
      redis.call('PEXPIRE', key, ttl_ms)
    end
  end
elseif state == HALF_OPEN then
  if outcome == 'success' then
    redis.call('DEL', key, calls_key)
    state, opened_at_ms = CLOSED, 0
  elseif outcome == 'failure' then
    state, opened_at_ms = OPEN, now_ms
    redis.call('HSET', key, 'state', OPEN, 'opened_at_ms', string.format('%.0f', now_ms),
      'trials', 0)
    redis.call('PEXPIRE', key, ttl_ms)
  elseif trials > 0 then
    redis.call('HSET', key, 'trials', trials - 1)
    redis.call('PEXPIRE', key, ttl_ms)
  end
end

local calls, failures, slow_calls = window_counts(calls_key, now_ms, window_ms)
if state ~= OPEN then opened_at_ms = 0 end
return {before, state, calls, failures, slow_calls, opened_at_ms}
