/**
 * Fair server-side waiting (Backend.acquireQueued), pushed rather than polled: the
 * acquire script queues the request in Redis (priority, then arrival), and the shared
 * pushed waiter (shared/src/waiting/pushed-waiter.ts) listens on the request's own
 * pub/sub channel, over Upstash's REST `/subscribe` stream. A waiter spends three
 * commands on a handoff (queue, subscribe, check), and one more only when its blocker
 * expires without a release or its stream breaks.
 */
import { type AcquireRequest, acquireInStoreQueue, type QueuedWaitOptions, type StoreQueue } from "@holdfast/shared";
import { type AcquireReply, decodeAcquireReply, runAcquire } from "./acquire.ts";
import type { UpstashContext } from "./context.ts";
import { runRelease } from "./release.ts";
import { parseOutcome } from "./reply.ts";
import { RULES } from "./rules.lua.ts";
import { type LuaScript, runScript } from "./script.ts";
import { subscribe } from "./subscribe.ts";

/** Serves the queue (the expiry path), then tells one caller where it stands; or lets it leave. */
// biome-ignore format: the Lua is laid out by hand; its comments are TypeScript comments, so they never ship.
const BODY = `
local channels, tenant, key, caller, leave = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
BOUND_HOLDERS, BOUND_WAITERS = tonumber(ARGV[6]), tonumber(ARGV[7])
if collides(tenant, key) then return redis.error_reply('ERR holdfast: key id collision') end
local now = clock()
local s = loadState(now)
local retryAt, notes = dispatch(s, now, tenant, key)
local function finish(reply, retime) saveState(s); announce(channels, retryAt, notes, retime); return reply end
local posted = postedReply(s, caller, now)
if posted then return finish(posted) end
local entry = redis.call('HGET', C, caller)
if not entry then return finish({ K.gone, now }) end
local waiterId = string.match(entry, '^([^|]+)|')
if leave == '1' then
  redis.call('HDEL', C, caller)
  if #liveCallers(waiterId, now) == 0 then
    local value = redis.call('HGET', W, waiterId)
    if value then
      local w = decodeWaiter(value)
      removeWaiter(waiterId, w.member, w.idem)
    end
    ${/* A head that leaves may let the compatible waiters behind it through at once. */ ""}
    local more
    retryAt, more = dispatch(s, now, tenant, key)
    for _, note in ipairs(more) do notes[#notes + 1] = note end
  end
  return finish({ K.gone, now }, true)
end
return finish({ K.queued, now, retryAt, rankOf(waiterId) })
`;

export const CHECK: LuaScript = {
  name: "check",
  source: RULES + BODY,
  sha: "9d4d3966380d483c219df9a23fe2abb5733dab30",
};

export function acquireQueued(ctx: UpstashContext, request: AcquireRequest, wait: QueuedWaitOptions) {
  return acquireInStoreQueue(storeQueueOf(ctx, request), request.idempotencyKey !== undefined, wait);
}

/** The request's queue entry, its own pub/sub channel over the REST `/subscribe` stream, and its check. */
function storeQueueOf(ctx: UpstashContext, request: AcquireRequest): StoreQueue {
  const keys = ctx.keysOf(request.keyId);
  const prefix = `${request.token}=`;
  return {
    enqueue: (waitMs) => runAcquire(ctx, request, waitMs),
    subscribe: (onPush) =>
      subscribe(ctx.url, ctx.token, `${keys.channels}${request.token}`, (text) => {
        // `<retryAt> <token>=<outcome>`, or `<retryAt>` to re-time.
        const [retryAt, note] = text.split(" ");
        onPush(
          note?.startsWith(prefix)
            ? { outcome: parseOutcome(note.slice(prefix.length)) }
            : { retryAtMs: Number(retryAt) || 0 },
        );
      }),
    check: (leave) => runCheck(ctx, request, leave),
    release: (token) => runRelease(ctx, { tenant: request.tenant, keyId: request.keyId, token }),
  };
}

async function runCheck(ctx: UpstashContext, request: AcquireRequest, leave: boolean): Promise<AcquireReply> {
  const keys = ctx.keysOf(request.keyId);
  const reply = await runScript(ctx.redis, CHECK, keys.all, [
    keys.channels,
    request.tenant,
    request.key,
    request.token,
    leave ? 1 : 0,
    ctx.bounds.holders,
    ctx.bounds.waiters,
  ]);
  return decodeAcquireReply(reply);
}
