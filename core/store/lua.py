"""Lua scripts: every status change is one atomic compare-and-set in Redis.

All scripts take the same KEYS, in this order (see ``Store._keys`` in ``transitions.py``)::

    1 record hash   2 result bytes   3 cancel flag   4 expiry index   5 index of all
    6..10 index of queued, running, succeeded, failed, cancelled

and ``ARGV[1]`` = experiment id, ``ARGV[2]`` = now (Unix seconds). A script
that refuses a change returns why, and changes nothing.
"""

from __future__ import annotations

_PRELUDE = """
local IDX = {queued=KEYS[6], running=KEYS[7], succeeded=KEYS[8], failed=KEYS[9],
             cancelled=KEYS[10]}
local id = ARGV[1]
local now = tonumber(ARGV[2])
-- The prefix of the record's tenant's indexes (core/store/tenants.py), '' without one.
local tidx = redis.call('HGET', KEYS[1], 'tindex') or ''
local function move(from, to)
  redis.call('ZREM', IDX[from], id)
  redis.call('ZADD', IDX[to], 0, id)
  if tidx ~= '' then
    redis.call('ZREM', tidx .. ':' .. from, id)
    redis.call('ZADD', tidx .. ':' .. to, 0, id)
  end
end
local function finalize(from, to, err, ttl)
  redis.call('HSET', KEYS[1], 'status', to, 'finished_at', ARGV[2], 'error', err,
             'lease_until', '')
  move(from, to)
  redis.call('DEL', KEYS[3])
  redis.call('EXPIRE', KEYS[1], ttl)
  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('EXPIRE', KEYS[2], ttl) end
  redis.call('ZADD', KEYS[4], now + ttl, id)
end
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', ''} end
"""

#: ARGV: id, now, max_attempts, lease_s, worker, ttl.
#: -> run <attempt> | busy <seconds> | cancelled | failed <attempts> | final <status>
CLAIM = (
    _PRELUDE
    + """
local max_attempts = tonumber(ARGV[3])
local lease_s = tonumber(ARGV[4])
local ttl = tonumber(ARGV[6])
if status == 'queued' then
  if redis.call('EXISTS', KEYS[3]) == 1 then
    finalize('queued', 'cancelled', '', ttl)
    return {'cancelled', ''}
  end
  redis.call('HSET', KEYS[1], 'status', 'running', 'attempts', 1, 'started_at', ARGV[2],
             'lease_until', tostring(now + lease_s), 'worker', ARGV[5])
  move('queued', 'running')
  return {'run', '1'}
end
if status == 'running' then
  local lease = tonumber(redis.call('HGET', KEYS[1], 'lease_until')) or 0
  if lease > now then return {'busy', tostring(lease - now)} end
  local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts')) or 0
  if redis.call('EXISTS', KEYS[3]) == 1 then
    finalize('running', 'cancelled', '', ttl)
    return {'cancelled', ''}
  end
  if attempts >= max_attempts then
    finalize('running', 'failed',
             'worker died ' .. attempts .. ' times while running this experiment', ttl)
    return {'failed', tostring(attempts)}
  end
  redis.call('HSET', KEYS[1], 'attempts', attempts + 1,
             'lease_until', tostring(now + lease_s), 'worker', ARGV[5])
  return {'run', tostring(attempts + 1)}
end
return {'final', status}
"""
)

#: ARGV: id, now, attempt, progress_json, lease_s, has_result ('1'/'0'), result.
#: -> ok <'1' when a cancel is requested, else '0'> | refused <status>
PROGRESS = (
    _PRELUDE
    + """
if status ~= 'running' or redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[3] then
  return {'refused', status}
end
redis.call('HSET', KEYS[1], 'lease_until', tostring(now + tonumber(ARGV[5])))
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'progress', ARGV[4]) end
if ARGV[6] == '1' then
  redis.call('SET', KEYS[2], ARGV[7])
  redis.call('HSET', KEYS[1], 'has_result', '1')
end
return {'ok', tostring(redis.call('EXISTS', KEYS[3]))}
"""
)

#: ARGV: id, now, attempt ('' = any), allowed_from (space-separated), to, error,
#: summary, diagnosis, progress, ttl, has_result ('1'/'0'), result, etag.
#: -> ok <to> | refused <status>
FINISH = (
    _PRELUDE
    + """
local allowed = false
for s in string.gmatch(ARGV[4], '%S+') do
  if s == status then allowed = true end
end
if not allowed then return {'refused', status} end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[3] then
  return {'refused', status}
end
if ARGV[11] == '1' then
  redis.call('SET', KEYS[2], ARGV[12])
  redis.call('HSET', KEYS[1], 'has_result', '1', 'etag', ARGV[13])
end
redis.call('HSET', KEYS[1], 'summary', ARGV[7], 'diagnosis', ARGV[8])
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'progress', ARGV[9]) end
finalize(status, ARGV[5], ARGV[6], tonumber(ARGV[10]))
return {'ok', ARGV[5]}
"""
)

#: ARGV: id, now, attempt. A worker shutting down hands a running experiment back:
#: its lease ends and its attempt is not counted, so the re-delivery runs it at once.
#: -> ok | refused <status>
RELEASE = (
    _PRELUDE
    + """
if status ~= 'running' or redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[3] then
  return {'refused', status}
end
redis.call('HSET', KEYS[1], 'attempts', tonumber(ARGV[3]) - 1, 'lease_until', '',
           'worker', '')
return {'ok', ''}
"""
)

#: ARGV: id, now, ttl, flag_ttl. -> cancelled | cancelling | final <status>
#: A running experiment whose lease has lapsed is cancelled at once.
CANCEL = (
    _PRELUDE
    + """
if status == 'queued' then
  finalize('queued', 'cancelled', '', tonumber(ARGV[3]))
  return {'cancelled', ''}
end
if status == 'running' then
  -- Nobody holds the lease (its worker died or handed it back): nothing would read
  -- the flag until a re-delivery, so the record is cancelled now.
  if (tonumber(redis.call('HGET', KEYS[1], 'lease_until')) or 0) <= now then
    finalize('running', 'cancelled', '', tonumber(ARGV[3]))
    return {'cancelled', ''}
  end
  redis.call('SET', KEYS[3], '1', 'EX', ARGV[4])
  redis.call('HSET', KEYS[1], 'cancel_requested_at', ARGV[2])
  return {'cancelling', ''}
end
return {'final', status}
"""
)

#: ARGV: id, now. -> deleted | conflict <status>
#: Final records, and running ones whose lease has lapsed (stuck: their worker is gone).
DELETE = (
    _PRELUDE
    + """
if status == 'queued' then return {'conflict', status} end
if status == 'running' and (tonumber(redis.call('HGET', KEYS[1], 'lease_until')) or 0) > now then
  return {'conflict', status}
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
for name, key in pairs(IDX) do
  redis.call('ZREM', key, id)
  if tidx ~= '' then redis.call('ZREM', tidx .. ':' .. name, id) end
end
if tidx ~= '' then redis.call('ZREM', tidx .. ':all', id) end
redis.call('ZREM', KEYS[4], id)
redis.call('ZREM', KEYS[5], id)
return {'deleted', status}
"""
)

#: ARGV: id, now, grace_s. Recovery is about to send a new message for an experiment it
#: found without one: note when, unless a message was sent less than ``grace_s`` ago or
#: the experiment no longer needs one (final, or running under a live lease).
#: -> ok <status> | recent | busy | final <status>
REDISPATCH = (
    _PRELUDE
    + """
if status ~= 'queued' and status ~= 'running' then return {'final', status} end
if status == 'running' and (tonumber(redis.call('HGET', KEYS[1], 'lease_until')) or 0) > now then
  return {'busy', ''}
end
local last = math.max(tonumber(redis.call('HGET', KEYS[1], 'created_at')) or 0,
                      tonumber(redis.call('HGET', KEYS[1], 'dispatched_at')) or 0)
if now - last < tonumber(ARGV[3]) then return {'recent', ''} end
redis.call('HSET', KEYS[1], 'dispatched_at', ARGV[2])
return {'ok', status}
"""
)

#: KEYS: expiry, index of all, the five status indexes. ARGV: now, batch.
#: Drops index entries of experiments whose records have expired. -> count dropped
PRUNE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do
  for i = 1, #KEYS do redis.call('ZREM', KEYS[i], id) end
end
return #ids
"""
