-- The top ARGV[1] members (-1: all) of each key in ARGV[3..], highest first, with the key's
-- decay landmark from the hash ARGV[2]: one { landmark or '', member, score, ... } per key.
local stop, landmarks = tonumber(ARGV[1]), ARGV[2]
local out = {}
for i = 3, #ARGV do
  local entry = redis.call('ZRANGE', ARGV[i], 0, stop, 'REV', 'WITHSCORES')
  table.insert(entry, 1, redis.call('HGET', landmarks, ARGV[i]) or '')
  out[#out + 1] = entry
end
return out
