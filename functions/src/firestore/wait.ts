/**
 * Fair server-side waiting (Backend.acquireQueued), pushed rather than polled: the
 * acquire step queues the request as a document of its key's waiter subcollection
 * (priority, then arrival), and the shared pushed waiter
 * (shared/src/waiting/pushed-waiter.ts) listens to that one document (`onSnapshot`). The
 * step that serves the waiter (a release, an extend, an expiry, a leave) writes its
 * outcome into it, and the listener sees it. The listener's first snapshot stands in for
 * the check after subscribing. A waiter spends, per handoff, one queueing step (reads and
 * a write) and one listen; a check (reads, and a write if it serves someone) only when
 * its blocker expires without a release. A listener that has been quiet for a while is
 * backed by one read of the document (REREAD_MS), in case it stalled.
 */
import type { DocumentData } from "@google-cloud/firestore";
import {
  type AcquireRequest,
  acquireInStoreQueue,
  channelSignals,
  cloneQueuedState,
  locked,
  type Push,
  type PushChannel,
  type QueuedWaitOptions,
  type QueueStatus,
  queueCheck,
  type StoreQueue,
} from "@holdfast/shared";
import { runAcquire } from "./acquire.ts";
import { atomically } from "./atomic.ts";
import type { FirestoreContext } from "./context.ts";
import { runRelease } from "./release.ts";
import { readWaiterDocument, type WaiterDocument, waiterDocId } from "./waiter-document.ts";

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
    { grants: !leave, caller: request.token },
  );
}

/**
 * Listens to the waiter document that has this caller among its callers: ready with the
 * first snapshot. The step that serves the waiter writes the outcome there, and the step
 * that moves the head's retry time writes that; a handoff wakes this one listener, not
 * every waiter of the key. A request without an idempotency key is always its own
 * waiter, and listens to that document by id; one that may have joined an earlier
 * waiter finds it by query. A listener by id costs the store nothing per write to the
 * key's other waiters, where a query listener is evaluated again (the emulator scans the
 * collection for each): a thousand waiters listening by query made every step ~300 ms.
 */
function listen(ctx: FirestoreContext, request: AcquireRequest, onPush: (push: Push) => void): PushChannel {
  ctx.assertOpen();
  const { ready, confirm, ended, finish } = channelSignals();
  let first: QueueStatus | undefined;
  let seen = false;
  let rank = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const onWaiter = (data: DocumentData | undefined, nowMs: number) => {
    try {
      const doc = data ? readWaiterDocument(data) : undefined;
      const view = doc ? viewOf(doc, request.token, nowMs) : undefined;
      rank = doc?.rank ?? rank;
      if (!seen) {
        seen = true;
        first = view?.status;
      }
      confirm(true);
      if (view?.push) onPush(view.push);
      readLater();
    } catch {
      finish();
    }
  };
  const waiters = ctx.waitersOf(request.keyId);
  const byId = request.idempotencyKey === undefined ? waiters.doc(waiterDocId(request.token)) : undefined;
  const byCaller = waiters.where("callerTokens", "array-contains", request.token);
  // Its document read once, as the listener would have shown it.
  const read = async () => {
    const snapshot = byId ? await byId.get() : await byCaller.get();
    return {
      data: "docs" in snapshot ? snapshot.docs[0]?.data() : snapshot.data(),
      nowMs: snapshot.readTime.toMillis(),
    };
  };
  function readLater() {
    clearTimeout(timer);
    if (closed) return;
    timer = setTimeout(
      () => {
        read().then(
          ({ data, nowMs }) => onWaiter(data, nowMs),
          () => readLater(), // the store is failing: the listener's own error ends the channel
        );
      },
      REREAD_MS * (rank + 1),
    );
  }
  const unsubscribe = byId
    ? byId.onSnapshot(
        (snapshot) => onWaiter(snapshot.data(), snapshot.readTime.toMillis()),
        () => finish(),
      )
    : byCaller.onSnapshot(
        (snapshot) => onWaiter(snapshot.docs[0]?.data(), snapshot.readTime.toMillis()),
        () => finish(),
      );
  return {
    ready,
    ended,
    current: () => first,
    close() {
      closed = true;
      clearTimeout(timer);
      unsubscribe();
      finish();
    },
  };
}

/**
 * How long a waiter relies on its listener alone, per place in line: after 5 s without a
 * snapshot the head reads its document once, the next after 10 s, the nth after 5·(n+1) s
 * (its place when it was queued: a waiter only moves up). A listener can stall without
 * failing (a stream left half-open on its way), and a push it misses would hold the queue
 * until the holder's lease ends, which may be minutes; the read finds what it missed. One
 * document read, no step on the key: a key with n waiting costs about ln(n)/5 reads a second.
 */
const REREAD_MS = 5_000;

/**
 * What a waiter document tells its caller. A grant is handed over as it is only to the
 * waiter's own caller, who alone can have released it; a retry that joined it asks the
 * store (a check), which sees whether the grant is still held.
 */
function viewOf(doc: WaiterDocument, caller: string, nowMs: number): { status?: QueueStatus; push?: Push } {
  const { served } = doc;
  if (served === undefined) {
    const retryAtMs = doc.retryAtMs ?? nowMs;
    return {
      status: { queued: true, serverTimeMs: nowMs, retryAtMs, rank: doc.rank ?? 0 },
      ...(doc.retryAtMs === undefined ? {} : { push: { retryAtMs } }),
    };
  }
  if (served.keepUntilMs <= nowMs) return {};
  const { outcome } = served;
  const handOver = outcome.ok ? outcome.token === caller && nowMs < outcome.expiresAtMs : outcome.reason !== "locked";
  if (!handOver) return { push: { retryAtMs: nowMs } };
  const result = { ...outcome, serverTimeMs: nowMs };
  return { status: { queued: false, result }, push: { outcome: result } };
}
