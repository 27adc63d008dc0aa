/**
 * Acquire: one script decides a grant, a refusal or (with waitMs > 0) a place in the
 * key's queue, after serving the waiters whose blockers have expired. A re-sent script
 * (the client retries network errors) finds its own grant or queue entry by the
 * request's token, so a lost response never yields two grants.
 */
import { type AcquireRequest, LockError, type QueueStatus } from "@holdfast/shared";
import type { UpstashContext } from "./context.ts";
import { capacityOf, KIND, limitOf, num, parseOutcome, str } from "./reply.ts";
import { RULES } from "./rules.lua.ts";
import { type LuaScript, runScript } from "./script.ts";

// biome-ignore format: the Lua is laid out by hand; its comments are TypeScript comments, so they never ship.
const BODY = `
local channels, tenant, key, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local lim = tonumber(ARGV[8])
local req = { ttl = tonumber(ARGV[5]), mode = ARGV[6], permits = tonumber(ARGV[7]),
              limit = (lim >= 0) and lim or false, idem = ARGV[9], prio = tonumber(ARGV[10]) }
local waitMs = tonumber(ARGV[11])
BOUND_HOLDERS, BOUND_WAITERS = tonumber(ARGV[12]), tonumber(ARGV[13])
if collides(tenant, key) then return redis.error_reply('ERR holdfast: key id collision') end
local now = clock()
local s = loadState(now)
${/* The expiry path: waiters whose blockers have gone are served before anyone new. */ ""}
local retryAt, notes = dispatch(s, now, tenant, key)
local function finish(reply) saveState(s); announce(channels, retryAt, notes, false); return reply end

${/* This very request, re-sent after a lost response. */ ""}
local mine = holderByToken(s, token)
if mine then return finish(grantReply(mine, now)) end
local posted = postedReply(s, token, now)
if posted then return finish(posted) end
local entry = redis.call('HGET', C, token)
if entry then return finish({ K.queued, now, retryAt, rankOf(string.match(entry, '^([^|]+)|')) }) end

${/* R3, idempotency: an earlier grant answers if the request is the same; a queued
   original is joined by a waiting retry (one grant for both), and answers "locked" to a
   retry that tries once. */ ""}
if req.idem ~= '' then
  local earlier = holderByIdem(s, req.idem)
  if earlier then
    if sameRequest(earlier, req, s.limit) then return finish(grantReply(earlier, now)) end
    return finish({ K.idempotencyMismatch, now })
  end
  local originalId = redis.call('HGET', X, 'i|' .. req.idem) or unindexedWaiter(req.idem)
  local value = originalId and redis.call('HGET', W, originalId)
  if value then
    local w = decodeWaiter(value)
    if not sameRequest(w, req, w.limit) then return finish({ K.idempotencyMismatch, now }) end
    if waitMs <= 0 then return finish({ K.locked, now, now }) end
    if #liveCallers(originalId, now) >= MAX_CALLERS then return finish({ K.capacity, now, 'callers', MAX_CALLERS, 0 }) end
    local deadline = now + waitMs
    addCaller(originalId, token, deadline)
    keepQueueUntil(deadline, now)
    return finish({ K.queued, now, retryAt, rankOf(originalId) })
  end
end

${/* R4 and R5, and R9's holder bound. */ ""}
local blocked = admits(s, req)
if blocked == 'mismatch' then return finish({ K.limitMismatch, now, s.limit or -1 }) end
${/* R8: while others wait, a newcomer goes first only with a strictly higher priority. */ ""}
local head = redis.call('ZRANGE', Q, 0, 0, 'WITHSCORES')
local behind = head[1] ~= nil and -req.prio >= tonumber(head[2])
if blocked == 'full' then
  ${/* Nobody ahead: refused clearly. Behind the queue: it waits its turn like any other. */ ""}
  if not behind then return finish({ K.capacity, now, 'holders', BOUND_HOLDERS, earliestExpiry(s) }) end
  blocked = earliestExpiry(s)
end
if blocked == 0 and not behind then
  if lastFence() >= MAX_FENCE then
    finish(nil)
    return redis.error_reply('ERR holdfast: fence counter exhausted for this key')
  end
  return finish(grantReply(grant(s, req, token, now, tenant, key), now))
end
if waitMs <= 0 then return finish({ K.locked, now, (blocked ~= 0) and blocked or now }) end
if redis.call('ZCARD', Q) >= BOUND_WAITERS then return finish({ K.capacity, now, 'waiters', BOUND_WAITERS, 0 }) end

${/* Queue: priority first, then arrival. */ ""}
local seq = redis.call('HINCRBY', R, 'qseq', 1)
redis.call('HSET', R, 'tenant', tenant, 'key', key)
local member = string.format('%015d', seq) .. ':' .. token
redis.call('ZADD', Q, -req.prio, member)
redis.call('HSET', W, token, encodeWaiter(req, member))
if req.idem ~= '' then redis.call('HSET', X, 'i|' .. req.idem, token) end
local deadline = now + waitMs
addFirstCaller(token, deadline)
keepQueueUntil(deadline, now)
if not behind then retryAt = blocked end
return finish({ K.queued, now, retryAt, rankOf(token) })
`;

export const ACQUIRE: LuaScript = {
  name: "acquire",
  source: RULES + BODY,
  sha: "6d7b0008316afb85c7beda607d5525be8df0334b",
};

/** What the acquire script can answer: a final result, or a place in the queue. */
export type AcquireReply = QueueStatus;

export async function runAcquire(ctx: UpstashContext, request: AcquireRequest, waitMs: number): Promise<AcquireReply> {
  const keys = ctx.keysOf(request.keyId);
  const reply = await runScript(ctx.redis, ACQUIRE, keys.all, [
    keys.channels,
    request.tenant,
    request.key,
    request.token,
    request.ttlMs,
    request.mode === "exclusive" ? "x" : "s",
    request.permits,
    request.limit ?? -1,
    request.idempotencyKey ?? "",
    request.priority ?? 0,
    waitMs,
    ctx.bounds.holders,
    ctx.bounds.waiters,
  ]);
  return decodeAcquireReply(reply);
}

/** Shared with the wait script, whose replies use the same kinds. */
export function decodeAcquireReply(reply: unknown[]): AcquireReply {
  const kind = num(reply, 0);
  if (kind === KIND.granted) {
    return {
      queued: false,
      result: {
        ok: true,
        token: str(reply, 1),
        fence: num(reply, 2),
        acquiredAtMs: num(reply, 3),
        expiresAtMs: num(reply, 4),
        serverTimeMs: num(reply, 5),
      },
    };
  }
  const serverTimeMs = num(reply, 1);
  switch (kind) {
    case KIND.locked:
    case KIND.gone:
      return {
        queued: false,
        result: {
          ok: false,
          reason: "locked",
          serverTimeMs,
          retryAtMs: reply.length > 2 ? num(reply, 2) : serverTimeMs,
        },
      };
    case KIND.limitMismatch:
      return {
        queued: false,
        result: { ok: false, reason: "limit-mismatch", limit: limitOf(num(reply, 2)), serverTimeMs },
      };
    case KIND.idempotencyMismatch:
      return { queued: false, result: { ok: false, reason: "idempotency-mismatch", serverTimeMs } };
    case KIND.posted:
      return { queued: false, result: parseOutcome(str(reply, 2)) };
    case KIND.queued:
      return { queued: true, serverTimeMs, retryAtMs: num(reply, 2), rank: num(reply, 3) };
    case KIND.capacity:
      return { queued: false, result: capacityOf(reply) };
    default:
      throw new LockError("Internal", `lock script answered kind ${kind}`);
  }
}
