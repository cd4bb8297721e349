-- publish_once.lua: add a batch of tasks to a stream, each at most once while its marker lives.
--
-- KEYS[1]        the stream
-- KEYS[2..n+1]   the publish marker of each task, in batch order
--                (keys.published_marker(stream, task_id))
-- ARGV[1]        marker TTL in ms; it must outlive the longest gap between a crash of the publisher
--                and the next flush of its outbox (e.g. the cron interval)
-- ARGV[2..n+1]   the entry fields of each task, in batch order, as a JSON array of alternating
--                names and values: ["type","owm.ingest","v","1","task_id","...",...]
--
-- For each task: SET marker 1 NX PX ttl, and XADD the entry only when the marker was newly set.
-- The script never trims (no MAXLEN). Marker and entry are written by the same atomic script, so
-- one never exists without the other; sending a batch again after a crash adds nothing twice.
--
-- Returns an array with one element per task, in batch order: the new entry id, or nil when the
-- task's marker already existed (published before, skipped).

if #ARGV ~= #KEYS then
  return redis.error_reply('publish_once: expected one fields argument per marker key')
end

local unpack = unpack or table.unpack
local stream = KEYS[1]
local ttl_ms = ARGV[1]
local ids = {}
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'PX', ttl_ms) then
    ids[i - 1] = redis.call('XADD', stream, '*', unpack(cjson.decode(ARGV[i])))
  else
    ids[i - 1] = false
  end
end
return ids
