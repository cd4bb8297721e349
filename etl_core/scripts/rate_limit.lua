-- rate_limit.lua: one rate limiter's check, reservation or refusal report, in one call.
--
-- KEYS[1]    hash {day, count}: permits used on UTC day number `day` (keys.rate_limit_day); read
--            and written only when ARGV[5] > 0
-- KEYS[2]    hash {factor_ppm, cut_us, full_us, since_us} (keys.rate_limit_admission): the
--            admission factor set by the last decrease; absent while the factor is 1. Read only
--            when ARGV[6] > 0
-- KEYS[3]    sorted set (keys.rate_limit_refusals): one member per permit the service refused,
--            score = that permit's admission time in microseconds; holds the last ARGV[6] ms
-- KEYS[4..]  one sorted set per sliding window (keys.rate_limit_window), in the order of the
--            window pairs in ARGV: one member per admitted permit, score = its admission time in
--            microseconds on the server clock
-- ARGV[1]    op: 'take' reserves n permits if every limit allows it; 'peek' writes nothing and
--            says how long n permits would wait; 'refused' records that the service refused the
--            permit admitted at ARGV[4], lowers the factor if the evidence says so, then answers
--            as 'peek' does
-- ARGV[2]    n: permits
-- ARGV[3]    a token unique to this call; members are '<time_us>:<token>:<i>', so never collide
-- ARGV[4]    'refused': the refused permit's admission time (us, server clock); else 0
-- ARGV[5]    permits per UTC calendar day, 0 for no day limit
-- ARGV[6]    evidence window in ms: refusals of permits admitted this long ago or less count; 0
--            for a limiter that does not adapt (the factor stays 1; 'refused' is an error)
-- ARGV[7]    the evidence window's admissions are counted in window i = ARGV[7] (1-based, in the
--            KEYS[4..] order; at least ARGV[6] long)
-- ARGV[8]    min refusals: fewer evidence refusals never lower the factor
-- ARGV[9]    min refusal share: nor do refusals below this share of the evidence admissions
-- ARGV[10]   decrease: the factor is multiplied by ARGV[10] / 1e6 when lowered
-- ARGV[11]   min factor in ppm: never lowered below this (1e6: never lowered)
-- ARGV[12]   recovery in ms: the factor climbs back linearly, from the minimum to 1 in this long
-- ARGV[13..] per window, in KEYS order: window_ms, limit
--
-- Time is the server's (TIME), in whole microseconds. A window of W us admits at time t only if
-- the admissions in (t - W, t] plus n stay within its effective limit, so no half-open interval
-- [s, s + W) ever holds more than it. The day number is floor(unix seconds / 86400) (UTC); the
-- count starts from zero when the stored day differs from today's.
--
-- The admission factor f (in ppm, 1e6 = the configured rate) scales every window's limit:
-- effective = max(1, floor(limit * f / 1e6)). The day limit is a budget, not a rate: it is never
-- scaled. A decrease at cut_us to factor_ppm sets full_us, when f is back to 1e6; in between f
-- rises linearly (f is computed here on every call: recovery needs no writer). A refusal lowers f
-- only when all of these hold:
--   * f is above the minimum;
--   * its permit was admitted after the last decrease (one decrease per round trip: calls sent
--     before a decrease say nothing about the lowered rate);
--   * counting only permits admitted after max(now - evidence window, last decrease), the refused
--     ones reach min refusals and min share of all admitted ones.
-- Then f = max(min factor, f * decrease); since_us (the start of the throttled spell) is kept
-- while f stays below 1e6.
-- Keys expire on their own (PEXPIREAT): a window when its newest admission has aged out, the
-- refusals when their newest has left the evidence window, the factor hash at full_us, the day
-- hash at the next UTC midnight, so an idle limiter leaves nothing behind.
--
-- Returns {admitted, wait_us, now_us, day_used, factor_ppm, since_us, refused, lowered,
--          used_1, ..., used_k}:
--   admitted    1 if 'take' reserved the n permits (or 'peek'/'refused' found they would pass),
--               else 0 (then nothing was reserved)
--   wait_us     0 if they pass now; else microseconds until every limit would pass n as far as
--               known now (per window the sooner of: enough of its oldest admissions age out, or
--               the recovering factor raises its limit enough; for a full day, the next midnight)
--   now_us      the server time of the decision, in microseconds
--   day_used    permits used today after this call (0 without a day limit)
--   factor_ppm  the admission factor after this call, 1000000 = the configured limits
--   since_us    when the factor fell below 1e6 this time (0 while it is 1e6)
--   refused     'peek' and 'refused': refusals of permits admitted in the evidence window; 'take': 0
--   lowered     1 if this 'refused' call lowered the factor
--   used_i      permits in window i after this call
-- A window or day limit smaller than n is an error (it could never pass).

local US_PER_S = 1000000
local S_PER_DAY = 86400
local PPM = 1000000
local INF = math.huge

local function int(x) return string.format('%.0f', x) end

local op = ARGV[1]
local n = tonumber(ARGV[2])
local token = ARGV[3]
local refused_at_us = tonumber(ARGV[4])
local day_limit = tonumber(ARGV[5])
local evidence_us = tonumber(ARGV[6]) * 1000
local time = redis.call('TIME')
local now_s = tonumber(time[1])
local now_us = now_s * US_PER_S + tonumber(time[2])
local nwindows = #KEYS - 3

-- The admission factor now: f (whole ppm), and the line it climbs on (cut_us, cut_f, full_us).
local f, cut_us, cut_f, full_us, since_us = PPM, nil, nil, nil, nil
if evidence_us > 0 then
  local s = redis.call('HMGET', KEYS[2], 'factor_ppm', 'cut_us', 'full_us', 'since_us')
  if s[1] and tonumber(s[3]) > now_us then
    cut_f, cut_us, full_us, since_us = tonumber(s[1]), tonumber(s[2]), tonumber(s[3]), tonumber(s[4])
    f = cut_f
    if now_us > cut_us then
      f = math.floor(cut_f + (PPM - cut_f) * (now_us - cut_us) / (full_us - cut_us))
    end
  end
end

local refused = 0
local lowered = 0
if op == 'refused' then
  if evidence_us <= 0 then
    return redis.error_reply('rate_limit.lua: refused on a limiter that does not adapt')
  end
  local horizon = now_us - evidence_us
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', int(horizon))
  if refused_at_us > horizon then
    redis.call('ZADD', KEYS[3], int(refused_at_us), int(refused_at_us) .. ':' .. token)
  end
  local newest = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
  if newest[2] then
    redis.call('PEXPIREAT', KEYS[3], int(math.ceil((tonumber(newest[2]) + evidence_us) / 1000)))
  end
  local min_ppm = tonumber(ARGV[11])
  if f > min_ppm and (cut_us == nil or refused_at_us > cut_us) then
    local from = horizon
    if cut_us ~= nil and cut_us > from then from = cut_us end
    local evidence = redis.call('ZCOUNT', KEYS[3], '(' .. int(from), '+inf')
    local admitted = redis.call('ZCOUNT', KEYS[3 + tonumber(ARGV[7])], '(' .. int(from), '+inf')
    if evidence >= tonumber(ARGV[8]) and evidence >= tonumber(ARGV[9]) * admitted then
      local new_f = math.max(min_ppm, math.floor(f * tonumber(ARGV[10]) / PPM))
      local recovery_us = tonumber(ARGV[12]) * 1000
      full_us = now_us + math.max(1, math.ceil((PPM - new_f) * recovery_us / (PPM - min_ppm)))
      since_us = since_us or now_us
      cut_us, cut_f, f = now_us, new_f, new_f
      redis.call('HSET', KEYS[2], 'factor_ppm', int(new_f), 'cut_us', int(now_us),
        'full_us', int(full_us), 'since_us', int(since_us))
      redis.call('PEXPIREAT', KEYS[2], int(math.ceil(full_us / 1000)))
      lowered = 1
    end
  end
end
if op ~= 'take' and evidence_us > 0 then
  refused = redis.call('ZCOUNT', KEYS[3], '(' .. int(now_us - evidence_us), '+inf')
end

-- When the climbing factor makes floor(limit * f / 1e6) reach `need` (INF if it never does).
local function recovered_at(limit, need)
  if cut_us == nil or need > limit then return INF end
  local target = math.ceil(need * PPM / limit)
  if f >= target then return now_us end
  -- One microsecond more than the line needs, so rounding never leaves f a hair short.
  return math.ceil(cut_us + (target - cut_f) * (full_us - cut_us) / (PPM - cut_f)) + 1
end

local wait_us = 0
local used = {}
for w = 1, nwindows do
  local key = KEYS[w + 3]
  local window_us = tonumber(ARGV[11 + 2 * w]) * 1000
  local limit = tonumber(ARGV[12 + 2 * w])
  if n > limit then
    return redis.error_reply('rate_limit.lua: n=' .. n .. ' exceeds window limit ' .. limit)
  end
  local effective = math.max(1, math.floor(limit * f / PPM))
  -- Admissions at or before now - W have aged out of the window that ends now.
  local floor = int(now_us - window_us)
  if op == 'take' then redis.call('ZREMRANGEBYSCORE', key, '-inf', floor) end
  local count = redis.call('ZCOUNT', key, '(' .. floor, '+inf')
  used[w] = count
  if count + n > effective then
    -- The k-th oldest admission ages out at its time + W.
    local function aged_out_at(k)
      if k <= 0 then return now_us end
      local oldest = redis.call('ZRANGEBYSCORE', key, '(' .. floor, '+inf', 'WITHSCORES',
        'LIMIT', k - 1, 1)
      return tonumber(oldest[2]) + window_us
    end
    -- Each of these suffices alone (admissions only age out, the factor only climbs until the
    -- next decrease); the window waits for the soonest.
    local at = recovered_at(limit, count + n)
    if n <= effective then at = math.min(at, aged_out_at(count + n - effective)) end
    if cut_us ~= nil then at = math.min(at, math.max(full_us, aged_out_at(count + n - limit))) end
    local w_wait = at - now_us
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

local function reply(admitted)
  local out = {admitted, wait_us, now_us, day_used, f, since_us or 0, refused, lowered}
  for w = 1, nwindows do out[#out + 1] = used[w] end
  return out
end

if wait_us > 0 then return reply(0) end
if op ~= 'take' then return reply(1) end

local now_txt = int(now_us)
for w = 1, nwindows do
  local key = KEYS[w + 3]
  local window_us = tonumber(ARGV[11 + 2 * w]) * 1000
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

return reply(1)
