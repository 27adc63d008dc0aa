/**
 * The lock rules of docs/design.md ("The rules, once"), restated in Redis Lua. Every
 * script of this backend starts with this prelude, so that acquire, release, extend,
 * the queue and the expiry path all decide by the same code. Nothing here writes until
 * every check of the script that uses it has passed: Redis does not roll a script back.
 *
 * KEYS (one hash tag, so one cluster slot): 1 record (tenant, key, fence, queue seq; never
 * expires), 2 holders (token → holder, '#limit'; expires with its last holder), 3 queue
 * (zset: score -priority, member seq:waiterId), 4 waiters (waiterId → request),
 * 5 callers (callerToken → waiterId|deadline), 6 results (callerToken → outcome),
 * 7 result ages (zset: callerToken → written at), 8 queue index ('c|' waiterId → its callers'
 * tokens, space-separated; 'i|' idempotency key → waiterId), so that serving or joining a
 * waiter never scans the whole queue.
 *
 * Bounds (R9): each script sets BOUND_HOLDERS and BOUND_WAITERS from its ARGV before it
 * decides anything; a script that only reads leaves them unbounded.
 *
 * Numbers are written with %d: Lua's tostring keeps 14 significant digits, and a
 * 15-digit fence must never round. The fence never passes through JSON.
 */
import { MAX_CALLERS_PER_WAITER } from "@holdfast/shared";
import { KIND } from "./reply.ts";

/** The reply kinds as a Lua table, from the one TypeScript list (reply.ts) that decodes them. */
const LUA_KINDS = `{ ${Object.entries(KIND)
  .map(([name, code]) => `${name} = ${code}`)
  .join(", ")} }`;

// biome-ignore format: the Lua is laid out by hand; its comments are TypeScript comments, so they never ship.
export const RULES = `
local R, H, Q, W, C, G, GA, X = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local BOUND_HOLDERS, BOUND_WAITERS = math.huge, math.huge
local MAX_CALLERS = ${MAX_CALLERS_PER_WAITER}
local K = ${LUA_KINDS}
local LIMIT_FIELD = '#limit'
local MAX_FENCE = 999999999999999
local RESULT_TTL_MS = 60000
local QUEUE_GRACE_MS = 60000

local function int(n) return string.format('%d', n) end

${/* R1: the store's clock, one reading per script, Redis TIME. */ ""}
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

${/* The record names its tenant and key: another pair under the same id is a collision. */ ""}
local function collides(tenant, key)
  local rec = redis.call('HMGET', R, 'tenant', 'key')
  return rec[1] and rec[2] and (rec[1] ~= tenant or rec[2] ~= key)
end

local function tenantOf() return redis.call('HGET', R, 'tenant') end

local function lastFence() return tonumber(redis.call('HGET', R, 'fence') or '0') end

${/* A holder with an idempotency key keeps the TTL it was granted with in front of the key,
   as '<ttl> <key>' (keys begin with their principal's id, never with a digit); holders
   stored before that have no TTL (ttl nil), and a retry is not checked on it. */ ""}
local function decodeHolder(token, value)
  local mode, permits, fence, acq, exp, idem = string.match(value, '^(%a)|(%d+)|(%d+)|(%d+)|(%d+)|(.*)$')
  local ttl, key = string.match(idem, '^(%d+) (.*)$')
  return { token = token, mode = mode, permits = tonumber(permits), fence = tonumber(fence),
           acq = tonumber(acq), exp = tonumber(exp), idem = key or idem, ttl = tonumber(ttl) }
end

local function encodeHolder(h)
  local idem = (h.idem ~= '' and h.ttl) and (int(h.ttl) .. ' ' .. h.idem) or h.idem
  return h.mode .. '|' .. int(h.permits) .. '|' .. int(h.fence) .. '|' .. int(h.acq) .. '|' .. int(h.exp) .. '|' .. idem
end

${/* R2, prune: a holder is live while now < its expiry. Pruning never touches the fence,
   and the limit goes with the last holder. What a script changes is noted by token (put,
   gone), so that saveState writes those fields alone. */ ""}
local function loadState(now)
  local s = { holders = {}, limit = false, dirty = false, put = {}, gone = {} }
  local flat = redis.call('HGETALL', H)
  for i = 1, #flat, 2 do
    if flat[i] == LIMIT_FIELD then
      s.limit = tonumber(flat[i + 1])
    else
      local h = decodeHolder(flat[i], flat[i + 1])
      if now < h.exp then s.holders[#s.holders + 1] = h else s.gone[h.token] = true; s.dirty = true end
    end
  end
  if #s.holders == 0 and s.limit then s.limit = false; s.dirty = true end
  return s
end

local function changed(s, h) s.put[h.token] = h; s.dirty = true end

local function dropHolder(s, index)
  s.gone[s.holders[index].token] = true
  table.remove(s.holders, index)
  s.dirty = true
  if #s.holders == 0 then s.limit = false end
end

${/* Writes back what changed, field by field: never the whole hash (a DEL followed by a
   write that fails would lose every holder, and Lua cannot unpack thousands of
   arguments). The hash expires with its last holder (PEXPIREAT = latest expiry; Redis
   drops a key only once its clock is past that instant), so Redis never drops a holder
   that the rules still call live. */ ""}
local function saveState(s)
  if not s.dirty then return end
  if #s.holders == 0 then redis.call('DEL', H); return end
  for token in pairs(s.gone) do redis.call('HDEL', H, token) end
  for token, h in pairs(s.put) do redis.call('HSET', H, token, encodeHolder(h)) end
  if s.limit then redis.call('HSET', H, LIMIT_FIELD, int(s.limit)) else redis.call('HDEL', H, LIMIT_FIELD) end
  local latest = 0
  for _, h in ipairs(s.holders) do if h.exp > latest then latest = h.exp end end
  redis.call('PEXPIREAT', H, latest)
end

${/* R9: when the first holder expires (the earliest a key at its holder bound makes room). */ ""}
local function earliestExpiry(s)
  local earliest = math.huge
  for _, h in ipairs(s.holders) do if h.exp < earliest then earliest = h.exp end end
  return earliest
end

local function holderByToken(s, token)
  for i, h in ipairs(s.holders) do if h.token == token then return h, i end end
end

local function holderByIdem(s, idem)
  if idem == '' then return nil end
  for _, h in ipairs(s.holders) do if h.idem == idem then return h end end
end

${/* A request: mode 'x' | 's', permits, limit (false: none), ttl, priority, idem ('' : none).
   R3 and R8: "the same request" as a holder or a queued original, decided here alone. */ ""}
local function sameRequest(h, req, limit)
  return h.mode == req.mode and h.permits == req.permits and (h.ttl == nil or h.ttl == req.ttl)
    and (req.mode == 'x' or limit == req.limit)
end

${/* R4 and R5: 'mismatch' when the shared holders agreed another limit; otherwise the
   earliest expiry among the blockers (the holders whose expiry could make room), or 0
   when nothing blocks. */ ""}
local function blockedUntil(s, req)
  local hs = s.holders
  if #hs == 0 then return 0 end
  local blockers = hs
  if req.mode == 's' then
    local exclusive = {}
    for _, h in ipairs(hs) do if h.mode == 'x' then exclusive[#exclusive + 1] = h end end
    if #exclusive > 0 then
      blockers = exclusive
    else
      if s.limit ~= req.limit then return 'mismatch' end
      if not req.limit then return 0 end
      local used = 0
      for _, h in ipairs(hs) do used = used + h.permits end
      if used + req.permits <= req.limit then return 0 end
    end
  end
  local earliest = blockers[1].exp
  for _, h in ipairs(blockers) do if h.exp < earliest then earliest = h.exp end end
  return earliest
end

${/* R9 over R4 and R5: a request that nothing blocks is 'full' when the key is at its
   holder bound (room comes with earliestExpiry or a release). */ ""}
local function admits(s, req)
  local blocked = blockedUntil(s, req)
  if blocked == 0 and #s.holders >= BOUND_HOLDERS then return 'full' end
  return blocked
end

${/* R6: a grant takes the next fence; the limit is set only on a grant to an empty key. */ ""}
local function grant(s, req, token, now, tenant, key)
  if #s.holders == 0 then s.limit = (req.mode == 's') and req.limit or false end
  if tenant then redis.call('HSET', R, 'tenant', tenant, 'key', key) end
  local fence = redis.call('HINCRBY', R, 'fence', 1)
  local h = { token = token, mode = req.mode, permits = req.permits, fence = fence,
              acq = now, exp = now + req.ttl, idem = req.idem, ttl = req.ttl }
  s.holders[#s.holders + 1] = h
  changed(s, h)
  return h
end

local function grantText(h, now)
  return 'g|' .. h.token .. '|' .. int(h.fence) .. '|' .. int(h.acq) .. '|' .. int(h.exp) .. '|' .. int(now)
end

local function grantReply(h, now) return { K.granted, h.token, h.fence, h.acq, h.exp, now } end

local function limitText(limit) if limit then return int(limit) end return '-1' end

${/* The queue. A waiter is one queued request (its id is the request's token, which
   becomes the grant's token); its callers are the request and any retries that joined it. */ ""}
local function decodeWaiter(value)
  local mode, permits, limit, ttl, prio, member, idem =
    string.match(value, '^(%a)|(%d+)|(%-?%d+)|(%d+)|(%-?%d+)|([^|]+)|(.*)$')
  local lim = tonumber(limit)
  return { mode = mode, permits = tonumber(permits), limit = (lim >= 0) and lim or false,
           ttl = tonumber(ttl), prio = tonumber(prio), member = member, idem = idem }
end

local function encodeWaiter(req, member)
  return req.mode .. '|' .. int(req.permits) .. '|' .. limitText(req.limit) .. '|' .. int(req.ttl) .. '|' ..
         int(req.prio) .. '|' .. member .. '|' .. req.idem
end

${/* The tokens of a waiter's callers, from the queue index. A waiter queued before the index
   existed has no entry: its callers are found by the scan it was queued with. */ ""}
local function callerTokens(waiterId)
  local listed = redis.call('HGET', X, 'c|' .. waiterId)
  if listed then
    local tokens = {}
    for token in string.gmatch(listed, '%S+') do tokens[#tokens + 1] = token end
    return tokens
  end
  local flat, tokens = redis.call('HGETALL', C), {}
  for i = 1, #flat, 2 do
    if string.match(flat[i + 1], '^([^|]+)|') == waiterId then tokens[#tokens + 1] = flat[i] end
  end
  return tokens
end

${/* A caller joins a waiter (the request itself, or a retry with its idempotency key). */ ""}
local function addCaller(waiterId, token, deadline)
  local listed = redis.call('HGET', X, 'c|' .. waiterId)
  redis.call('HSET', C, token, waiterId .. '|' .. int(deadline))
  ${/* A waiter without an index entry (queued by an earlier release) is indexed now, with
     the callers its scan finds, this one included. */ ""}
  local tokens = listed and (listed .. ' ' .. token) or table.concat(callerTokens(waiterId), ' ')
  redis.call('HSET', X, 'c|' .. waiterId, tokens)
end

${/* A new waiter's first caller: indexed at once, without the scan for callers that an
   unindexed waiter needs (over every caller of the key: the 10,000th waiter paid for the
   9,999 before it). */ ""}
local function addFirstCaller(waiterId, deadline)
  redis.call('HSET', C, waiterId, waiterId .. '|' .. int(deadline))
  redis.call('HSET', X, 'c|' .. waiterId, waiterId)
end

${/* Live callers of a waiter ({ token, deadline }); callers past their deadline (a Worker
   that died) or gone from C (they left) are dropped from the index. */ ""}
local function liveCallers(waiterId, now)
  local live, kept = {}, {}
  local indexed = redis.call('HEXISTS', X, 'c|' .. waiterId) == 1
  for _, token in ipairs(callerTokens(waiterId)) do
    local entry = redis.call('HGET', C, token)
    local deadline = entry and tonumber(string.match(entry, '|(%d+)$'))
    if deadline and now < deadline then
      live[#live + 1] = { token = token, deadline = deadline }
      kept[#kept + 1] = token
    elseif entry then
      redis.call('HDEL', C, token)
    end
  end
  if indexed and #kept > 0 then redis.call('HSET', X, 'c|' .. waiterId, table.concat(kept, ' ')) end
  return live
end

${/* A queue filled by the scripts of an earlier release has no index: its waiters are found
   by the scan those scripts made. A queue with an index never scans. */ ""}
local function unindexedWaiter(idem)
  if redis.call('EXISTS', X) == 1 then return nil end
  local flat = redis.call('HGETALL', W)
  for i = 1, #flat, 2 do
    if decodeWaiter(flat[i + 1]).idem == idem then return flat[i] end
  end
end

local function removeWaiter(waiterId, member, idem)
  redis.call('ZREM', Q, member)
  redis.call('HDEL', W, waiterId)
  redis.call('HDEL', X, 'c|' .. waiterId)
  if idem ~= '' then redis.call('HDEL', X, 'i|' .. idem) end
  if redis.call('ZCARD', Q) == 0 then redis.call('DEL', Q, W, C, X) end
end

${/* Outcomes wait for their callers in G (GA: when each may go) until RESULT_TTL_MS past
   the caller's deadline: a caller whose push was lost asks at the latest then. */ ""}
local function postResult(caller, text, now, deadline)
  local keepUntil = math.max(now, deadline) + RESULT_TTL_MS
  redis.call('HSET', G, caller, text)
  redis.call('ZADD', GA, keepUntil, caller)
  local stale = redis.call('ZRANGEBYSCORE', GA, '-inf', now)
  for _, old in ipairs(stale) do redis.call('HDEL', G, old); redis.call('ZREM', GA, old) end
  for _, k in ipairs({ G, GA }) do
    if redis.call('PTTL', k) < keepUntil - now then redis.call('PEXPIRE', k, keepUntil - now) end
  end
end

${/* A posted outcome, answered as of now: read, not taken (a re-sent script must find it
   again), and a grant that expired before its caller came for it is no grant. */ ""}
local function postedReply(s, caller, now)
  local text = redis.call('HGET', G, caller)
  if not text then return nil end
  local token = string.match(text, '^g|([^|]+)|')
  if not token then return { K.posted, now, text } end
  local h = holderByToken(s, token)
  if h then return grantReply(h, now) end
  return { K.locked, now, now }
end

${/* R8: serves the queue from its head while the rules grant it: the release and expiry paths
   run this in the same script, so the key goes to the head and no newcomer can barge.
   Returns the head's retry time (0 when the queue is empty) and the outcomes posted. */ ""}
local function dispatch(s, now, tenant, key)
  local notes = {}
  while true do
    local head = redis.call('ZRANGE', Q, 0, 0)[1]
    if not head then return 0, notes end
    local waiterId = string.sub(head, 17)
    local value = redis.call('HGET', W, waiterId)
    local callers = value and liveCallers(waiterId, now) or {}
    local req = value and decodeWaiter(value)
    if #callers == 0 then
      removeWaiter(waiterId, head, req and req.idem or '')
    else
      ${/* R3 first, as for a newcomer: a waiter whose idempotency key a live holder
         already has (a retry queued apart from its original, as scripts of an earlier
         release could) gets that holder's grant, never a second one. */ ""}
      local earlier = holderByIdem(s, req.idem)
      local blocked = earlier and 0 or admits(s, req)
      if blocked == 'full' then return earliestExpiry(s), notes end
      if blocked ~= 'mismatch' and blocked > 0 then return blocked, notes end
      if not earlier and blocked == 0 and lastFence() >= MAX_FENCE then return 0, notes end
      local text
      if earlier then
        text = sameRequest(earlier, req, s.limit) and grantText(earlier, now) or ('i|' .. int(now))
      elseif blocked == 'mismatch' then
        text = 'm|' .. limitText(s.limit) .. '|' .. int(now)
      else
        text = grantText(grant(s, req, waiterId, now, tenant, key), now)
      end
      for _, caller in ipairs(callers) do
        postResult(caller.token, text, now, caller.deadline)
        redis.call('HDEL', C, caller.token)
        notes[#notes + 1] = caller.token .. '=' .. text
      end
      removeWaiter(waiterId, head, req.idem)
    end
  end
end

${/* Tells waiters, each on its own channel (channels are not keys), what the queue did:
   '<head's retry time> <caller>=<outcome>' to each caller served, and with 'retime' (an
   extend, a waiter that left: the head's retry time may have moved) '<retry time>' to the
   callers of the first RETIMED waiters, not the whole queue (that was O(n) a leave): only
   the head can be served next, the script that serves it serves the compatible waiters
   behind it and tells each one, and the others learn the new time at their next check,
   as after any release. A waiter that misses a message collects its outcome from G. */ ""}
local RETIMED = 16
local function announce(channels, retryAt, notes, retime)
  for _, note in ipairs(notes) do
    redis.call('PUBLISH', channels .. string.match(note, '^([^=]+)='), int(retryAt) .. ' ' .. note)
  end
  if not retime then return end
  for _, member in ipairs(redis.call('ZRANGE', Q, 0, RETIMED - 1)) do
    for _, caller in ipairs(callerTokens(string.sub(member, 17))) do
      redis.call('PUBLISH', channels .. caller, int(retryAt))
    end
  end
end

${/* Keeps the queue's keys at least until a caller's deadline, plus a grace period. */ ""}
local function keepQueueUntil(deadline, now)
  local ttl = deadline - now + QUEUE_GRACE_MS
  for _, k in ipairs({ Q, W, C, X }) do
    if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
  end
end

local function rankOf(waiterId)
  local value = redis.call('HGET', W, waiterId)
  if not value then return 0 end
  return redis.call('ZRANK', Q, decodeWaiter(value).member) or 0
end
`;
