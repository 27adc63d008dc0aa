/** Extend: one atomic step that sets the grant's expiry (a shorter lease may let the queue's head in). */
import { cloneQueuedState, type ExtendResult, extendAndServe, type LockRef } from "@holdfast/shared";
import { atomically } from "./atomic.ts";
import type { FirestoreContext } from "./context.ts";

export function runExtend(ctx: FirestoreContext, ref: LockRef, ttlMs: number): Promise<ExtendResult> {
  return atomically(
    ctx,
    ref.keyId,
    (current, nowMs) => {
      const record = current && cloneQueuedState(current);
      return { result: extendAndServe(record, ref, ttlMs, nowMs, ctx.bounds), record };
    },
    { grants: false },
  );
}
