-- pause_clear.lua: lift the pause of stage KEYS[1].
--
-- KEYS[1]  the stage's pause hash (keys.stage_pause); fields as in pause_check.lua
-- KEYS[2]  the trial token (keys.stage_pause_trial)
-- ARGV[1]  '' to lift any pause (an operator), or a source: lift it only if it is that one (a
--          trial task lifts an automatic pause, never one an operator set meanwhile)
--
-- Returns 1 if a pause was lifted, else 0.

local key, trial_key = KEYS[1], KEYS[2]
local only = ARGV[1]
local source = redis.call('HGET', key, 'source')
if only ~= '' and source ~= only then
  if not source then redis.call('DEL', trial_key) end
  return 0
end
redis.call('DEL', trial_key)
return redis.call('DEL', key)
