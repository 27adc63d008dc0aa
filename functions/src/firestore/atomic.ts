/**
 * The one atomic step every changing operation goes through: read the document (one RPC,
 * whose `readTime` is the store's clock for every decision), apply the core's pure rules
 * to a copy, and write the copy back only if it changed, on condition that the document
 * is still the one that was read (`lastUpdateTime`, or `create` for a new one): a second
 * RPC. A write that lost the race wrote nothing and the step starts over, within a budget;
 * a contended key costs retries, never a false "locked".
 *
 * Why not a Firestore transaction: server-side transactions lock what they read, and two
 * that read one document and then both write it deadlock until a lock timeout (the
 * emulator answers both with ABORTED after ~2 s; the client then backs off for ~1 s).
 * A conditional write is one document's compare-and-set: no lock, no deadlock.
 *
 * Each write carries a marker (a fresh id and the answer), and the document keeps the
 * markers of its recent writes (`ops`). The client re-sends a commit whose answer was
 * lost; the re-sent write then fails its precondition, and the step, reading the
 * document again, finds its own marker (even if other writes came after it) and answers
 * what it wrote, before any budget applies.
 */

import type { DocumentReference, DocumentSnapshot } from "@google-cloud/firestore";
import { LockError, newToken, type QueuedKeyState } from "@holdfast/shared";
import type { FirestoreContext } from "./context.ts";
import { documentData, readDocument, sameRecord } from "./document.ts";
import { isConflict, toLockError } from "./errors.ts";

export interface StepOptions {
  /** The step may grant: an instance whose clock is out of tolerance refuses it. */
  grants: boolean;
}

/** Decides on a copy of the record (null: no document yet) at the store time `nowMs`. */
export type Decide<R> = (record: QueuedKeyState | null, nowMs: number) => { result: R; record: QueuedKeyState | null };

export async function atomically<R>(
  ctx: FirestoreContext,
  keyId: string,
  decide: Decide<R>,
  { grants }: StepOptions,
): Promise<R> {
  const ref = ctx.docOf(keyId);
  return ctx.inLane(ref.id, async () => {
    const startedMs = ctx.now();
    // Every write this step made: a re-sent commit may have landed any of them.
    const mine = new Set<string>();
    for (let attempt = 0; ; attempt++) {
      const { snapshot, nowMs } = await readAt(ctx, ref);
      const { record, ops } = readDocument(snapshot);
      const landed = ops.find((op) => mine.has(op.id));
      if (landed) return landed.result as R;
      if (attempt > 0 && ctx.now() - startedMs > ctx.contentionBudgetMs) {
        throw new LockError(
          "ServiceUnavailable",
          `too much contention on this key: ${attempt} writes lost their race in ${ctx.contentionBudgetMs} ms; retry`,
        );
      }
      if (grants) ctx.skew.assertCanGrant();
      const decided = decide(record, nowMs);
      if (decided.record === null || sameRecord(record, decided.record)) return decided.result;
      const marker = { id: newToken(), result: decided.result, atMs: nowMs };
      mine.add(marker.id);
      ctx.assertOpen();
      try {
        await write(ref, snapshot, documentData(decided.record, [...ops, marker]));
        return decided.result;
      } catch (error) {
        if (!isConflict(error)) throw toLockError(error);
      }
      // Lost the race, or a re-sent commit of this very write failed its precondition:
      // the next read tells which.
      await backoff(attempt);
    }
  });
}

/** One read; its `readTime` is the store's clock, and measures this instance's skew. */
export async function readAt(ctx: FirestoreContext, ref: DocumentReference) {
  ctx.assertOpen();
  const sentMs = ctx.now();
  let snapshot: DocumentSnapshot;
  try {
    snapshot = await ref.get();
  } catch (error) {
    throw toLockError(error);
  }
  const nowMs = snapshot.readTime.toMillis();
  ctx.skew.observe(sentMs, ctx.now(), nowMs);
  return { snapshot, nowMs };
}

function write(ref: DocumentReference, read: DocumentSnapshot, data: Record<string, unknown>) {
  if (!read.exists || read.updateTime === undefined) return ref.create(data);
  return ref.update(data, { lastUpdateTime: read.updateTime });
}

/** A short, jittered pause: the winner of the race is one round trip ahead. */
function backoff(attempt: number): Promise<void> {
  const ceilingMs = Math.min(50, 2 ** Math.min(attempt, 6));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
}
