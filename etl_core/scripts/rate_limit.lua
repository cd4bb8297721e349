-- rate_limit.lua: check every limit of one rate limiter; reserve n permits in all of them or none.
--
-- KEYS[1]    hash {day, count}: permits used on UTC day number `day` (keys.rate_limit_day); read
--            and written only when ARGV[3] > 0
-- KEYS[2..]  one sorted set per sliding window (keys.rate_limit_window), in the order of the
--            window pairs in ARGV: one member per admitted permit, score = its admission time in
--            microseconds on the server clock
-- ARGV[1]    n: permits to reserve (0 reserves nothing and writes nothing: it only reports usage)
-- ARGV[2]    a token unique to this call; members are '<time_us>:<token>:<i>', so never collide
-- ARGV[3]    permits per UTC calendar day, 0 for no day limit
-- ARGV[4..]  per window, in KEYS order: window_ms, limit
--
-- Time is the server's (TIME), in whole microseconds. A window of W us admits at time t only if
-- the admissions in (t - W, t] plus n stay within its limit, so no half-open interval [s, s + W)
-- ever holds more than the limit. The day number is floor(unix seconds / 86400) (UTC); the count
-- starts from zero when the stored day differs from today's.
-- Keys expire on their own (PEXPIREAT): a window when its newest admission has aged out, the day
-- hash at the next UTC midnight, so an idle limiter leaves nothing behind.
--
-- Returns {admitted, wait_us, now_us, day_used, used_1, ..., used_k}:
--   admitted  1 if the n permits were reserved in every limit, else 0 (then nothing was written)
--   wait_us   0 if admitted; else microseconds until every limit could pass for n as far as known
--             now (the largest of: per full window, until enough of its oldest admissions age
--             out; for a full day, until the next UTC midnight)
--   now_us    the server time of the decision, in microseconds
--   day_used  permits used today after this call (0 without a day limit)
--   used_i    permits in window i after this call
-- A window or day limit smaller than n is an error (it could never pass).

local US_PER_S = 1000000
local S_PER_DAY = 86400

local function int(x) return string.format('%.0f', x) end

local n = tonumber(ARGV[1])
local token = ARGV[2]
local day_limit = tonumber(ARGV[3])
local time = redis.call('TIME')
local now_s = tonumber(time[1])
local now_us = now_s * US_PER_S + tonumber(time[2])
local nwindows = #KEYS - 1

local wait_us = 0
local used = {}
for w = 1, nwindows do
  local key = KEYS[w + 1]
  local window_us = tonumber(ARGV[2 + 2 * w]) * 1000
  local limit = tonumber(ARGV[3 + 2 * w])
  if n > limit then
    return redis.error_reply('rate_limit.lua: n=' .. n .. ' exceeds window limit ' .. limit)
  end
  -- Admissions at or before now - W have aged out of the window that ends now.
  local floor = int(now_us - window_us)
  if n > 0 then redis.call('ZREMRANGEBYSCORE', key, '-inf', floor) end
  local count = redis.call('ZCOUNT', key, '(' .. floor, '+inf')
  used[w] = count
  local excess = count + n - limit
  if excess > 0 then
    -- The excess-th oldest admission must age out first: it does at its time + W.
    local oldest = redis.call('ZRANGEBYSCORE', key, '(' .. floor, '+inf', 'WITHSCORES',
      'LIMIT', excess - 1, 1)
    local w_wait = tonumber(oldest[2]) + window_us - now_us
    if w_wait > wait_us then wait_us = w_wait end
  end
end

local today = math.floor(now_s / S_PER_DAY)
local next_midnight_s = (today + 1) * S_PER_DAY
local day_used = 0
if day_limit > 0 then
  if n > day_limit then
    return redis.error_reply('rate_limit.lua: n=' .. n .. ' exceeds day limit ' .. day_limit)
  end
  local stored = redis.call('HMGET', KEYS[1], 'day', 'count')
  if tonumber(stored[1]) == today then day_used = tonumber(stored[2]) or 0 end
  if day_used + n > day_limit then
    local d_wait = next_midnight_s * US_PER_S - now_us
    if d_wait > wait_us then wait_us = d_wait end
  end
end

if wait_us > 0 or n == 0 then
  local reply = {wait_us > 0 and 0 or 1, wait_us, now_us, day_used}
  for w = 1, nwindows do reply[#reply + 1] = used[w] end
  return reply
end

local now_txt = int(now_us)
for w = 1, nwindows do
  local key = KEYS[w + 1]
  local window_us = tonumber(ARGV[2 + 2 * w]) * 1000
  for i = 1, n do
    redis.call('ZADD', key, now_txt, now_txt .. ':' .. token .. ':' .. i)
  end
  used[w] = used[w] + n
  -- Expire when the newest admission has aged out (newest, not now: the clock may have stepped
  -- back). A key expires once the clock passes the given millisecond, so round up.
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', key, int(math.ceil((tonumber(newest[2]) + window_us) / 1000)))
end
if day_limit > 0 then
  day_used = day_used + n
  redis.call('HSET', KEYS[1], 'day', int(today), 'count', int(day_used))
  redis.call('PEXPIREAT', KEYS[1], int(next_midnight_s * 1000))
end

local reply = {1, 0, now_us, day_used}
for w = 1, nwindows do reply[#reply + 1] = used[w] end
return reply
