/** Release: one atomic step that removes the grant and hands the key to the queue's head. */
import { cloneQueuedState, type LockRef, type ReleaseResult, releaseAndServe } from "@holdfast/shared";
import { atomically } from "./atomic.ts";
import type { FirestoreContext } from "./context.ts";

export function runRelease(ctx: FirestoreContext, ref: LockRef): Promise<ReleaseResult> {
  return atomically(
    ctx,
    ref.keyId,
    (current, nowMs) => {
      const record = current && cloneQueuedState(current);
      return { result: releaseAndServe(record, ref, nowMs, ctx.bounds), record };
    },
    { grants: false },
  );
}
