-- breaker_window.lua: helpers the breaker scripts include (`-- #include breaker_window`); never
-- run on its own.
--
-- A breaker's window is a list (keys.breaker_calls) with one entry per reported call outcome:
-- '<code><server time in ms>', code 'o' a success, 'O' a slow success, 'f' a failure, 'F' a slow
-- failure. The newest window_calls entries are kept, and of those only the ones reported in the
-- last window_ms count, so an old outcome neither outweighs recent ones nor lingers when calls are
-- rare.

local function server_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Append n outcomes of one code, reported at now_ms; keep the newest max_calls; the list expires
-- once its newest entry has left the window.
local function window_push(key, code, n, now_ms, max_calls, window_ms)
  if n <= 0 then return end
  if n > max_calls then n = max_calls end
  local entry = code .. string.format('%.0f', now_ms)
  local entries = {}
  for i = 1, n do entries[i] = entry end
  redis.call('RPUSH', key, unpack(entries))
  redis.call('LTRIM', key, -max_calls, -1)
  redis.call('PEXPIRE', key, window_ms)
end

-- calls, failures, slow calls among the outcomes reported in the last window_ms.
local function window_counts(key, now_ms, window_ms)
  local since = now_ms - window_ms
  local calls, failures, slow = 0, 0, 0
  for _, e in ipairs(redis.call('LRANGE', key, 0, -1)) do
    if tonumber(string.sub(e, 2)) > since then
      calls = calls + 1
      local code = string.sub(e, 1, 1)
      if code == 'f' or code == 'F' then failures = failures + 1 end
      if code == 'O' or code == 'F' then slow = slow + 1 end
    end
  end
  return calls, failures, slow
end
