-- breaker_record.lua: record the outcome of one call made through circuit breaker KEYS[1].
--
-- KEYS[1]  the breaker's hash (keys.breaker); fields as in breaker_before_call.lua
-- ARGV[1]  outcome: 'success' (the service answered; permanent errors count as this),
--          'failure' (a transient failure), or 'release' (a half-open trial ended with no
--          verdict, e.g. it was cancelled: give its slot back)
-- ARGV[2]  failure threshold: consecutive failures that open a closed breaker
-- ARGV[3]  state TTL in ms: the hash expires after this long without a write
--
-- Closed: a success resets the count (the hash is deleted: closed with no failures is the
-- default); a failure counts, and the threshold-th consecutive one opens the breaker.
-- Half-open: a success closes it; a failure re-opens it with a fresh timeout.
-- Open: the calls that still report were admitted before it opened; a failure only counts, a
-- success changes nothing (the reset timeout and a trial decide). Times are the server's (TIME).
--
-- Returns {state_before, state_after, failures, opened_at_ms} (state codes: 0 closed, 1 open,
-- 2 half-open; opened_at_ms 0 unless open).

local CLOSED, OPEN, HALF_OPEN = 0, 1, 2

local key = KEYS[1]
local outcome = ARGV[1]
local threshold = tonumber(ARGV[2])
local ttl_ms = tonumber(ARGV[3])
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local h = redis.call('HMGET', key, 'state', 'failures', 'opened_at_ms', 'trials')
local state = tonumber(h[1]) or CLOSED
local failures = tonumber(h[2]) or 0
local opened_at_ms = tonumber(h[3]) or 0
local trials = tonumber(h[4]) or 0
local before = state

local function open()
  state = OPEN
  opened_at_ms = now_ms
  redis.call('HSET', key, 'state', OPEN, 'failures', failures,
    'opened_at_ms', string.format('%.0f', now_ms), 'trials', 0)
end

if outcome == 'success' then
  if state == CLOSED or state == HALF_OPEN then
    redis.call('DEL', key)
    state, failures, opened_at_ms = CLOSED, 0, 0
  end
elseif outcome == 'failure' then
  failures = failures + 1
  if state == HALF_OPEN or (state == CLOSED and failures >= threshold) then
    open()
  else
    redis.call('HSET', key, 'failures', failures)
    if state == CLOSED then redis.call('HSET', key, 'state', CLOSED) end
  end
  redis.call('PEXPIRE', key, ttl_ms)
elseif outcome == 'release' then
  if state == HALF_OPEN and trials > 0 then
    redis.call('HSET', key, 'trials', trials - 1)
    redis.call('PEXPIRE', key, ttl_ms)
  end
else
  return redis.error_reply('breaker_record.lua: unknown outcome ' .. tostring(outcome))
end

if state ~= OPEN then opened_at_ms = 0 end
return {before, state, failures, opened_at_ms}
