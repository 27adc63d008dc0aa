/**
 * Fair server-side waiting (Backend.acquireQueued), pushed rather than polled: the
 * acquire step queues the request in its key's document (priority, then arrival), and
 * the shared pushed waiter (shared/src/waiting/pushed-waiter.ts) listens to that document
 * (`onSnapshot`). The step that serves the waiter (a release, an extend, an expiry, a
 * leave) writes its grant into the document, and the listener sees it. The listener's
 * first snapshot stands in for the check after subscribing. A waiter spends, per handoff,
 * one queueing step (a read and a write) and one listen; a check (a read, and a write if
 * it serves someone) only when its blocker expires without a release.
 */
import {
  type AcquireRequest,
  acquireInStoreQueue,
  channelSignals,
  cloneQueuedState,
  type Push,
  type PushChannel,
  type QueuedWaitOptions,
  type QueueStatus,
  queueCheck,
  queueStatusIn,
  type StoreQueue,
  waiterView,
} from "@holdfast/shared";
import { runAcquire } from "./acquire.ts";
import { atomically } from "./atomic.ts";
import type { FirestoreContext } from "./context.ts";
import { readDocument } from "./document.ts";
import { runRelease } from "./release.ts";

export function acquireQueued(ctx: FirestoreContext, request: AcquireRequest, wait: QueuedWaitOptions) {
  return acquireInStoreQueue(storeQueueOf(ctx, request), request.idempotencyKey !== undefined, wait);
}

function storeQueueOf(ctx: FirestoreContext, request: AcquireRequest): StoreQueue {
  return {
    enqueue: (waitMs) => runAcquire(ctx, request, waitMs),
    subscribe: (onPush) => listen(ctx, request, onPush),
    check: (leave) => runCheck(ctx, request, leave),
    release: (token) => runRelease(ctx, { tenant: request.tenant, keyId: request.keyId, token }),
  };
}

function runCheck(ctx: FirestoreContext, request: AcquireRequest, leave: boolean): Promise<QueueStatus> {
  return atomically(
    ctx,
    request.keyId,
    (current, nowMs) => {
      const record = current && cloneQueuedState(current);
      if (record === null || record.tenant !== request.tenant || record.key !== request.key) {
        // No record: nothing was ever queued here (or the store lost it).
        return { result: { queued: false, result: locked(nowMs) }, record: null };
      }
      return { result: queueCheck(record, request.token, leave, nowMs, ctx.bounds), record };
    },
    { grants: !leave },
  );
}

const locked = (nowMs: number) => ({
  ok: false as const,
  reason: "locked" as const,
  serverTimeMs: nowMs,
  retryAtMs: nowMs,
});

/** Listens to the key's document; ready with the first snapshot. Each snapshot says what the queue did for this waiter. */
function listen(ctx: FirestoreContext, request: AcquireRequest, onPush: (push: Push) => void): PushChannel {
  ctx.assertOpen();
  const { ready, confirm, ended, finish } = channelSignals();
  let first: QueueStatus | undefined;
  let seen = false;
  const unsubscribe = ctx.docOf(request.keyId).onSnapshot(
    (snapshot) => {
      try {
        const nowMs = snapshot.readTime.toMillis();
        const { record } = readDocument(snapshot);
        const mine = record && record.tenant === request.tenant ? record : null;
        if (!seen) {
          seen = true;
          first = queueStatusIn(mine, request.token, nowMs, ctx.bounds);
        }
        confirm(true);
        if (mine) onPush(waiterView(mine, request.token, nowMs, ctx.bounds));
      } catch {
        finish();
      }
    },
    () => finish(),
  );
  return {
    ready,
    ended,
    current: () => first,
    close() {
      unsubscribe();
      finish();
    },
  };
}
