-- safe_trim.lua: remove from a stream only the entries that every consumer group is done with.
--
-- KEYS[1]   the stream
-- ARGV      none
--
-- For each consumer group, the lowest id it still needs is the smaller of its oldest pending id
-- (XPENDING summary: delivered, not yet acknowledged) and the id right after its
-- last-delivered-id (the first entry it has not been given yet). The stream is trimmed exactly
-- (XTRIM MINID, no '~') to the smallest of these over all groups, so no pending and no undelivered
-- entry of any group is ever removed. A stream without consumer groups, or one that does not
-- exist, is left alone.
--
-- Returns the number of entries removed.

local stream = KEYS[1]
if redis.call('EXISTS', stream) == 0 then
  return 0
end
local groups = redis.call('XINFO', 'GROUPS', stream)
if #groups == 0 then
  return 0
end

local MAX_SEQ = '18446744073709551615'

-- Ids are compared and incremented as decimal strings: exact for every 64-bit part.
local function split(id)
  return string.match(id, '^(%d+)%-(%d+)$')
end

local function digits_less(a, b)
  if #a ~= #b then
    return #a < #b
  end
  return a < b
end

local function id_less(a, b)
  local a_ms, a_seq = split(a)
  local b_ms, b_seq = split(b)
  if a_ms ~= b_ms then
    return digits_less(a_ms, b_ms)
  end
  return digits_less(a_seq, b_seq)
end

local function increment(digits)
  local i = #digits
  while i > 0 and string.sub(digits, i, i) == '9' do
    i = i - 1
  end
  if i == 0 then
    return '1' .. string.rep('0', #digits)
  end
  return string.sub(digits, 1, i - 1) .. string.char(string.byte(digits, i) + 1)
    .. string.rep('0', #digits - i)
end

local function successor(id)
  local ms, seq = split(id)
  if seq == MAX_SEQ then
    return increment(ms) .. '-0'
  end
  return ms .. '-' .. increment(seq)
end

local lowest_needed = nil
for _, group in ipairs(groups) do
  local name, last_delivered
  for j = 1, #group, 2 do
    if group[j] == 'name' then
      name = group[j + 1]
    elseif group[j] == 'last-delivered-id' then
      last_delivered = group[j + 1]
    end
  end
  local needed = successor(last_delivered)
  local summary = redis.call('XPENDING', stream, name)
  if tonumber(summary[1]) > 0 and id_less(summary[2], needed) then
    needed = summary[2]
  end
  if lowest_needed == nil or id_less(needed, lowest_needed) then
    lowest_needed = needed
  end
end

return redis.call('XTRIM', stream, 'MINID', lowest_needed)
