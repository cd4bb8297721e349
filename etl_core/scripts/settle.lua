-- settle.lua: apply a batch of task outcomes, each atomically, in one round trip.
--
-- KEYS[1]   source stream
-- KEYS[2]   its dead-letter stream
-- KEYS[3]   its delayed-retry sorted set (score: due time in ms, server clock)
-- KEYS[4]   the done-mark hash of the current time bucket (keys.done_marks(stream, group, b),
--           etl_core.dedup): done marks of this call are its fields (task ids)
-- KEYS[5]   the settled log of this group (keys.settled_log): one entry per call that marked
--           tasks done, field n = how many, trimmed to the last ARGV[4] ms (throughput)
-- KEYS[6..] streams that tasks may be forwarded to, and window tallies (keys.window_tally)
-- ARGV[1]   consumer group
-- ARGV[2]   consumer name (this worker)
-- ARGV[3]   when KEYS[4] expires, unix ms (two bucket lengths after its bucket began); the
--           window tallies written get the same expiry
-- ARGV[4]   how long the settled log keeps its entries, ms
-- ARGV[5..] items, each:  kind, entry id, task id to mark done ('' for none), the index into
--           KEYS of the tally of the task's window (HINCRBY done:<group> when the done mark is
--           new; '0' for none; '-1': count it neither there nor in the settled log, for a task
--           found already done), then by kind:
--   'ack'    nothing more: done (or found already done); acks and writes the done mark
--   'fwd'    n, then n times: target (index into KEYS, 5-based), nfields, field, value, ...
--            adds every forwarded entry, acks, writes the done mark
--   'retry'  delay ms, member: the entry's fields as a JSON object, to re-add when due; acks
--   'dead'   nfields, field, value, ...: adds a dead-letter entry (with dlq_failed_at_ms from
--            the server clock) and acks
--
-- An item is applied only while its entry is still pending for this consumer: if another consumer
-- reclaimed it, or it was acked already, the item is skipped, so a slow worker and the one that
-- reclaimed its work can never both forward, retry or dead-letter the same entry.
--
-- Done marks are fields of one hash per bucket, not keys of their own: cheaper for Redis than a
-- key with its own expiry per task, and the whole bucket expires at once.
--
-- Returns one integer per item: 1 applied, 0 skipped (no longer pending for this consumer).

local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local marks, marks_expire_at_ms = KEYS[4], ARGV[3]
local marked = false
local newly_done = 0
local tallies = {}
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)

local results = {}
local function mark_done(done_id, tally)
  if done_id == '' then return end
  local new = redis.call('HSET', marks, done_id, '1')
  marked = true
  if new == 1 and tally >= 0 then
    newly_done = newly_done + 1
    if tally > 0 then
      redis.call('HINCRBY', KEYS[tally], 'done:' .. group, 1)
      tallies[tally] = true
    end
  end
end

local i = 5
while i <= #ARGV do
  local kind, id, done_id, tally = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  i = i + 4
  local pending = redis.call('XPENDING', stream, group, id, id, 1)
  local owned = #pending == 1 and pending[1][2] == consumer

  if kind == 'ack' then
    if owned then
      redis.call('XACK', stream, group, id)
      mark_done(done_id, tally)
    end
  elseif kind == 'fwd' then
    local n = tonumber(ARGV[i]); i = i + 1
    for _ = 1, n do
      local target = KEYS[tonumber(ARGV[i])]
      local nfields = tonumber(ARGV[i + 1])
      if owned then
        redis.call('XADD', target, '*', unpack(ARGV, i + 2, i + 1 + 2 * nfields))
      end
      i = i + 2 + 2 * nfields
    end
    if owned then
      redis.call('XACK', stream, group, id)
      mark_done(done_id, tally)
    end
  elseif kind == 'retry' then
    local delay_ms, member = tonumber(ARGV[i]), ARGV[i + 1]
    i = i + 2
    if owned then
      redis.call('ZADD', KEYS[3], now_ms + delay_ms, member)
      redis.call('XACK', stream, group, id)
    end
  elseif kind == 'dead' then
    local nfields = tonumber(ARGV[i])
    if owned then
      redis.call('XADD', KEYS[2], '*', 'dlq_failed_at_ms', tostring(now_ms),
        unpack(ARGV, i + 1, i + 2 * nfields))
      redis.call('XACK', stream, group, id)
    end
    i = i + 1 + 2 * nfields
  else
    return redis.error_reply('settle.lua: unknown outcome kind ' .. tostring(kind))
  end
  results[#results + 1] = owned and 1 or 0
end
if marked then redis.call('PEXPIREAT', marks, marks_expire_at_ms) end
for tally in pairs(tallies) do redis.call('PEXPIREAT', KEYS[tally], marks_expire_at_ms) end
if newly_done > 0 then
  local keep_ms = tonumber(ARGV[4])
  redis.call('XADD', KEYS[5], 'MINID', tostring(now_ms - keep_ms), '*', 'n', newly_done)
  redis.call('PEXPIRE', KEYS[5], keep_ms)
end
return results
