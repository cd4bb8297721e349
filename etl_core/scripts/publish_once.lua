-- publish_once.lua: add a batch of tasks to a stream, each task id at most once while its marker
-- lives.
--
-- KEYS[1]   the stream
-- KEYS[2]   the marker hash of the current time bucket (keys.published_markers(stream, b),
--           etl_core.buckets): markers of this batch are written here
-- KEYS[3..2+ARGV[2]] the marker hashes of the other buckets a marker may still be in (the
--           previous one, and the next one near a bucket's end): only read
-- KEYS[3+ARGV[2]..] window tallies (keys.window_tally) of the batch's tasks
-- ARGV[1]   when KEYS[2] expires, unix ms (two bucket lengths after its bucket began); the
--           window tallies written get the same expiry
-- ARGV[2]   how many marker hashes KEYS[3..] holds
-- ARGV[3..] triples, one per task in batch order: task id, the index into KEYS of the tally of
--           its window ('0' for none; HINCRBY published when the task is added), then the entry
--           fields as a JSON array of alternating names and values:
--           ["type","report.build","v","1","task_id","...",...]
--
-- For each task: skip it when its id is a field of any of the marker hashes; otherwise HSETNX it
-- into KEYS[2] and XADD the entry. A marker so lives at least one bucket length and at most two.
-- Markers are hash fields, not keys of their own: cheaper for Redis than a key with its own expiry
-- per task. The script never trims (no MAXLEN). Marker and entry are written by the same atomic
-- script, so one never exists without the other; sending a batch again after a crash adds
-- nothing twice. Every key is passed in KEYS, so all of them can share the stream's hash tag.
--
-- Returns an array with one element per task, in batch order: the new entry id, or nil when the
-- task id was published before (skipped).

if #ARGV < 2 or (#ARGV - 2) % 3 ~= 0 or tonumber(ARGV[2]) == nil then
  return redis.error_reply(
    'publish_once: expected an expiry, a marker count, then task id, tally and fields per task')
end

local unpack = unpack or table.unpack
local stream, current = KEYS[1], KEYS[2]
local expire_at_ms = ARGV[1]
local last_marker = 2 + tonumber(ARGV[2])
local tallies = {}

local function published_before(task_id)
  for k = 3, last_marker do
    if redis.call('HEXISTS', KEYS[k], task_id) == 1 then return true end
  end
  return false
end

local ids = {}
for i = 3, #ARGV, 3 do
  local task_id, tally = ARGV[i], tonumber(ARGV[i + 1])
  if not published_before(task_id) and redis.call('HSETNX', current, task_id, '1') == 1 then
    ids[#ids + 1] = redis.call('XADD', stream, '*', unpack(cjson.decode(ARGV[i + 2])))
    if tally ~= 0 then
      redis.call('HINCRBY', KEYS[tally], 'published', 1)
      tallies[tally] = true
    end
  else
    ids[#ids + 1] = false
  end
end
if #ids > 0 then
  redis.call('PEXPIREAT', current, expire_at_ms)
end
for tally in pairs(tallies) do redis.call('PEXPIREAT', KEYS[tally], expire_at_ms) end
return ids
