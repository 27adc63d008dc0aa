/**
 * Acquire: one atomic step that serves the waiters whose blockers have expired, then
 * decides a grant, a refusal or (with waitMs > 0) a place in the key's queue.
 */
import {
  type AcquireRequest,
  cloneQueuedState,
  emptyQueuedState,
  type QueueStatus,
  queuedAcquire,
} from "@holdfast/shared";
import { atomically } from "./atomic.ts";
import type { FirestoreContext } from "./context.ts";

export function runAcquire(ctx: FirestoreContext, request: AcquireRequest, waitMs: number): Promise<QueueStatus> {
  return atomically(
    ctx,
    request.keyId,
    (current, nowMs) => {
      const record = current ? cloneQueuedState(current) : emptyQueuedState(request.tenant, request.key);
      return { result: queuedAcquire(record, request, waitMs, nowMs, ctx.bounds), record };
    },
    // A new request's token is nobody's caller yet (a re-sent step finds its marker), so
    // only the waiter its idempotency key may join is read, besides the head.
    { grants: true, ...(request.idempotencyKey === undefined ? {} : { idempotencyKey: request.idempotencyKey }) },
  );
}
