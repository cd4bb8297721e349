-- redrive.lua: move dead-letter entries back to their source stream, each atomically.
--
-- KEYS[1]  dead-letter stream
-- KEYS[2]  source stream
-- ARGV     ids of dead-letter entries to move
--
-- Each entry is re-added to the source stream with its original fields (the dlq_* fields that
-- recorded the failure are dropped) and attempts reset to 0, and deleted from the dead-letter
-- stream in the same script: it is never in both streams and never in neither.
-- Returns {moved, missing}: moved is a flat list of dead-letter id, new source id pairs; missing
-- lists the ids that were not in the dead-letter stream.

local moved, missing = {}, {}
for _, id in ipairs(ARGV) do
  local found = redis.call('XRANGE', KEYS[1], id, id)
  if #found == 0 then
    missing[#missing + 1] = id
  else
    local fields = found[1][2]
    local out = {}
    local has_attempts = false
    for j = 1, #fields, 2 do
      local k, v = fields[j], fields[j + 1]
      if string.sub(k, 1, 4) ~= 'dlq_' then
        if k == 'attempts' then
          v = '0'
          has_attempts = true
        end
        out[#out + 1] = k
        out[#out + 1] = v
      end
    end
    if not has_attempts then
      out[#out + 1] = 'attempts'
      out[#out + 1] = '0'
    end
    local new_id = redis.call('XADD', KEYS[2], '*', unpack(out))
    redis.call('XDEL', KEYS[1], id)
    moved[#moved + 1] = id
    moved[#moved + 1] = new_id
  end
end
return {moved, missing}
