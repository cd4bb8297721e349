-- settle.lua: apply a batch of task outcomes, each atomically, in one round trip.
--
-- KEYS[1]   source stream
-- KEYS[2]   its dead-letter stream
-- KEYS[3]   its delayed-retry sorted set (score: due time in ms, server clock)
-- KEYS[4]   the done-mark hash of the current time bucket (keys.done_marks(stream, group, b),
--           etl_core.dedup): done marks of this call are its fields (task ids)
-- KEYS[5..] streams that tasks may be forwarded to
-- ARGV[1]   consumer group
-- ARGV[2]   consumer name (this worker)
-- ARGV[3]   when KEYS[4] expires, unix ms (two bucket lengths after its bucket began)
-- ARGV[4..] items, each:  kind, entry id, task id to mark done ('' for none), then by kind:
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
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)

local results = {}
local i = 4
while i <= #ARGV do
  local kind, id, done_id = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  i = i + 3
  local pending = redis.call('XPENDING', stream, group, id, id, 1)
  local owned = #pending == 1 and pending[1][2] == consumer

  if kind == 'ack' then
    if owned then
      redis.call('XACK', stream, group, id)
      if done_id ~= '' then
        redis.call('HSET', marks, done_id, '1')
        marked = true
      end
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
      if done_id ~= '' then
        redis.call('HSET', marks, done_id, '1')
        marked = true
      end
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
return results
