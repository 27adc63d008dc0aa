/**
 * Fair server-side waiting (Backend.acquireQueued), pushed rather than polled: the
 * acquire statement queues the request in its key's queue table (priority, then arrival), and
 * the shared pushed waiter (shared/src/waiting/pushed-waiter.ts) listens on the request's
 * own channel, `LISTEN` on the backend's listening connection (listen.ts: by default one
 * for every waiter). The statement that serves it (a release, an extend, an expiry, a
 * leave) notifies that channel when it commits. A waiter spends three statements on a
 * handoff (queue, LISTEN, check), and one more only when its blocker expires without a
 * release or its listening connection breaks.
 */
import {
  type AcquireRequest,
  acquireInStoreQueue,
  type Push,
  type QueuedWaitOptions,
  type QueueStatus,
  type StoreQueue,
} from "@holdfast/shared";
import { runAcquire } from "./acquire.ts";
import type { NeonContext } from "./context.ts";
import { keyText } from "./key-text.ts";
import { runRelease } from "./release.ts";
import { queueStatusOf, type Reply } from "./reply.ts";

export function acquireQueued(ctx: NeonContext, request: AcquireRequest, wait: QueuedWaitOptions) {
  return acquireInStoreQueue(storeQueueOf(ctx, request), request.idempotencyKey !== undefined, wait);
}

function storeQueueOf(ctx: NeonContext, request: AcquireRequest): StoreQueue {
  const channel = `${ctx.names.channels}${request.token}`;
  return {
    enqueue: (waitMs) => runAcquire(ctx, request, waitMs),
    subscribe: (onPush) => ctx.listen(channel, (payload) => onPush(pushOf(payload, request.token))),
    check: (leave) => runCheck(ctx, request, leave),
    release: (token) => runRelease(ctx, { tenant: request.tenant, keyId: request.keyId, token }),
  };
}

/** `<retryAt> <token>=<outcome json>`, or `<retryAt>` to re-time. */
function pushOf(payload: string, token: string): Push {
  const space = payload.indexOf(" ");
  const retryAtMs = Number(space < 0 ? payload : payload.slice(0, space)) || 0;
  const note = space < 0 ? "" : payload.slice(space + 1);
  if (!note.startsWith(`${token}=`)) return { retryAtMs };
  const status = queueStatusOf(JSON.parse(note.slice(token.length + 1)) as Reply);
  return status.queued ? { retryAtMs } : { outcome: status.result };
}

async function runCheck(ctx: NeonContext, request: AcquireRequest, leave: boolean): Promise<QueueStatus> {
  const { names } = ctx;
  const reply = await ctx.call(
    `SELECT ${names.fn("check")}($1::text, $2::text, $3::text, $4::text, $5::boolean, $6::text, $7::integer) AS r`,
    [request.keyId, request.tenant, keyText(request.key), request.token, leave, names.channels, ctx.bounds.holders],
  );
  return queueStatusOf(reply);
}
