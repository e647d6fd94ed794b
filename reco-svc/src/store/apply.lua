-- Applies one write batch atomically, once per event id (see store/redis.rs for ARGV).
-- Returns 1 when applied, 0 for an event id applied before, -1 when the listener's or
-- playlist's version (field ARGV[4] of hash ARGV[3]) moved since the batch was planned.
--
-- Applied event ids are remembered as 14-byte digests (SHA-1 prefix, binary) in one set per
-- wall-clock bucket of ARGV[12] ms, `<ARGV[1]><bucket number>`, each set expiring once its
-- newest id is ARGV[2] ms old: an id is remembered for at least ARGV[2] ms and at most one
-- bucket more, at about a third of what a string key per id cost (issue 17 item 3).
local seen, ttl, versions, field, expected = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local landmarks, tracks, artist_prefix, rebase = ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9])
local zero, event_id, bucket_ms = tonumber(ARGV[10]), ARGV[11], tonumber(ARGV[12])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local bucket = math.floor(now / bucket_ms)
local digest = string.gsub(string.sub(redis.sha1hex(event_id), 1, 28), '..', function(h)
  return string.char(tonumber(h, 16))
end)
-- An id applied before ids were digests was a string key of its own, kept for one TTL.
if redis.call('EXISTS', seen .. event_id) == 1 then return 0 end
local function int(x) return string.format('%.0f', x) end
for b = bucket - math.ceil(ttl / bucket_ms), bucket do
  if redis.call('SISMEMBER', seen .. int(b), digest) == 1 then return 0 end
end
if field ~= '' then
  local version = tonumber(redis.call('HGET', versions, field) or '0')
  if version ~= tonumber(expected) then return -1 end
  redis.call('HSET', versions, field, version + 1)
end
-- Full precision: Lua's own number-to-string keeps only 14 digits.
local function num(x) return string.format('%.17g', x) end
local i = 13
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'D' then
    local key, member = ARGV[i + 1], ARGV[i + 2]
    local weight, at, half_life = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
    local landmark = tonumber(redis.call('HGET', landmarks, key))
    if not landmark then
      landmark = at
      redis.call('HSET', landmarks, key, ARGV[i + 4])
    end
    if (at - landmark) / half_life > rebase then
      local factor = 2 ^ ((landmark - at) / half_life)
      local all = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
      for j = 1, #all, 2 do
        redis.call('ZADD', key, num(tonumber(all[j + 1]) * factor), all[j])
      end
      redis.call('HSET', landmarks, key, ARGV[i + 4])
      landmark = at
    end
    redis.call('ZINCRBY', key, num(weight * 2 ^ ((at - landmark) / half_life)), member)
    i = i + 6
  elseif op == 'M' then
    redis.call('ZADD', ARGV[i + 1], 'GT', ARGV[i + 3], ARGV[i + 2])
    i = i + 4
  elseif op == 'T' then
    redis.call('ZREMRANGEBYRANK', ARGV[i + 1], 0, -(tonumber(ARGV[i + 2]) + 1))
    i = i + 3
  elseif op == 'K' then
    local track, record, artist, updated = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
    local old = redis.call('HGET', tracks, track)
    local stale = false
    if old then
      local sep = string.find(old, '\31', 1, true)
      local old_updated = tonumber(string.sub(old, 1, sep - 1))
      local rest = string.sub(old, sep + 1)
      local old_artist = string.sub(rest, 1, string.find(rest, '\31', 1, true) - 1)
      if old_updated > updated then
        stale = true
      elseif old_artist ~= artist then
        redis.call('ZREM', artist_prefix .. old_artist, track)
      end
    end
    if not stale then
      redis.call('ZADD', artist_prefix .. artist, 'GT', ARGV[i + 4], track)
      redis.call('HSET', tracks, track, record)
    end
    i = i + 5
  elseif op == 'C' then
    local count = tonumber(redis.call('ZINCRBY', ARGV[i + 1], ARGV[i + 3], ARGV[i + 2]))
    if count == 0 then redis.call('ZREM', ARGV[i + 1], ARGV[i + 2]) end
    i = i + 4
  elseif op == 'A' then
    local key, member, weight = ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
    if weight >= 0 or redis.call('ZSCORE', key, member) then
      local sum = tonumber(redis.call('ZINCRBY', key, ARGV[i + 3], member))
      if sum <= math.abs(weight) * zero then redis.call('ZREM', key, member) end
    end
    i = i + 4
  elseif op == 'B' then
    local key, member = ARGV[i + 1], ARGV[i + 2]
    local weight, at, half_life = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
    local landmark = tonumber(redis.call('HGET', landmarks, key))
    local old = redis.call('ZSCORE', key, member)
    if landmark and old then
      local amount = weight * 2 ^ ((at - landmark) / half_life)
      local left = tonumber(old) - tonumber(num(amount))
      if math.abs(left) <= math.abs(amount) * zero then
        redis.call('ZREM', key, member)
      else
        redis.call('ZADD', key, num(left), member)
      end
    end
    i = i + 6
  elseif op == 'R' then
    redis.call('ZREM', ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'X' then
    redis.call('DEL', ARGV[i + 1])
    redis.call('HDEL', landmarks, ARGV[i + 1])
    i = i + 2
  else
    return redis.error_reply('unknown op ' .. tostring(op))
  end
end
redis.call('SADD', seen .. int(bucket), digest)
redis.call('PEXPIREAT', seen .. int(bucket), int((bucket + 1) * bucket_ms + ttl))
return 1
