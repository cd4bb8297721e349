-- publish_once.lua: add a batch of tasks to a stream, each task id at most once per marker TTL.
--
-- KEYS[1]   the stream
-- KEYS[2]   prefix of the marker hashes (keys.published_markers(stream)); the script uses the
--           hashes <prefix>:<b> and <prefix>:<b-1>, b = server time in ms // TTL
-- ARGV[1]   marker TTL in ms; it must outlive the longest gap between a crash of the publisher
--           and the next flush of its outbox (e.g. the cron interval)
-- ARGV[2..] pairs, one per task in batch order: task id, then the entry fields as a JSON array of
--           alternating names and values: ["type","owm.ingest","v","1","task_id","...",...]
--
-- For each task: skip it when its id is in the previous or the current bucket's hash; otherwise
-- HSETNX it into the current bucket and XADD the entry. A marker so lives at least one TTL and at
-- most two (each bucket hash expires two TTLs after its bucket began). Markers are hash fields,
-- not keys of their own: cheaper for Redis than a key with its own expiry per task. The script
-- never trims (no MAXLEN). Marker and entry are written by the same atomic script, so one never
-- exists without the other; sending a batch again after a crash adds nothing twice.
-- (The bucket keys are derived from KEYS[2] inside the script: fine on one Redis, not on Cluster.)
--
-- Returns an array with one element per task, in batch order: the new entry id, or nil when the
-- task id was published before (skipped).

if #ARGV % 2 ~= 1 then
  return redis.error_reply('publish_once: expected a TTL, then a task id and fields per task')
end

local unpack = unpack or table.unpack
local stream = KEYS[1]
local ttl_ms = tonumber(ARGV[1])
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local bucket = math.floor(now_ms / ttl_ms)
local current = KEYS[2] .. ':' .. bucket
local previous = KEYS[2] .. ':' .. (bucket - 1)

local ids = {}
for i = 2, #ARGV, 2 do
  local task_id = ARGV[i]
  if redis.call('HEXISTS', previous, task_id) == 0
      and redis.call('HSETNX', current, task_id, '1') == 1 then
    ids[#ids + 1] = redis.call('XADD', stream, '*', unpack(cjson.decode(ARGV[i + 1])))
  else
    ids[#ids + 1] = false
  end
end
if #ids > 0 then
  redis.call('PEXPIREAT', current, (bucket + 2) * ttl_ms)
end
return ids
