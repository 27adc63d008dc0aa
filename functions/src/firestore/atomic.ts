/**
 * The one atomic step every changing operation goes through: read the key document (one
 * RPC, whose `readTime` is the store's clock for every decision), then the parts of the
 * queue the step can touch (queue-load.ts, one round of parallel queries, skipped when
 * nobody waits), apply the core's pure rules to a copy, and write what changed in one
 * batch (queue-write.ts) whose key-document update is conditional on the document being
 * still the one that was read (`lastUpdateTime`, or `create` for a new one). A write that
 * lost the race wrote nothing and the step starts over, within a budget; a contended key
 * costs retries, never a false "locked".
 *
 * Why not a Firestore transaction: server-side transactions lock what they read, and two
 * that read one document and then both write it deadlock until a lock timeout (the
 * emulator answers both with ABORTED after ~2 s; the client then backs off for ~1 s).
 * A conditional write is one document's compare-and-set: no lock, no deadlock.
 *
 * A step that needs more of the queue's head than the key document's front (a release
 * that lets many readers in, or the front served away) reads again with a head read by
 * query: the core says so (QueueNotLoaded) before anything is written. Each write carries a marker (markers.ts), so that a re-sent commit
 * finds its own answer.
 */

import type { DocumentReference, DocumentSnapshot } from "@google-cloud/firestore";
import { LockError, newToken, type QueuedKeyState, QueueNotLoaded } from "@holdfast/shared";
import type { FirestoreContext } from "./context.ts";
import { isConflict, toLockError } from "./errors.ts";
import { addMarker, landedMarker } from "./markers.ts";
import { loadStep, type Needs } from "./queue-load.ts";
import { batchOf, planWrite } from "./queue-write.ts";

export interface StepOptions extends Needs {
  /** The step may grant: an instance whose clock is out of tolerance refuses it. */
  grants: boolean;
}

/** Decides on a copy of the record (null: no document yet) at the store time `nowMs`. */
export type Decide<R> = (record: QueuedKeyState | null, nowMs: number) => { result: R; record: QueuedKeyState | null };

/** Waiters read by query once a step ran past the front of the queue; past those, 8 times as many. */
const FIRST_HEAD = 16;

export async function atomically<R>(
  ctx: FirestoreContext,
  keyId: string,
  decide: Decide<R>,
  { grants, ...needs }: StepOptions,
): Promise<R> {
  const ref = ctx.docOf(keyId);
  return ctx.inLane(ref.id, async () => {
    const startedMs = ctx.now();
    // Every write this step made: a re-sent commit may have landed any of them.
    const mine = new Set<string>();
    // The front in the key document stands for the head until the step runs past it.
    let headSize: number | undefined;
    for (let attempt = 0; ; attempt++) {
      const { snapshot, nowMs } = await readAt(ctx, ref);
      const landed = mine.size > 0 ? await landedMarker(ctx, keyId, mine) : undefined;
      if (landed) return landed.result as R;
      if (attempt > 0 && ctx.now() - startedMs > ctx.contentionBudgetMs) {
        throw new LockError(
          "ServiceUnavailable",
          `too much contention on this key: ${attempt} writes lost their race in ${ctx.contentionBudgetMs} ms; retry`,
        );
      }
      if (grants) ctx.skew.assertCanGrant();
      const loaded = await loadStep(ctx, keyId, snapshot, needs, headSize);
      let decided: ReturnType<Decide<R>>;
      try {
        decided = decide(loaded.record, nowMs);
      } catch (error) {
        if (!(error instanceof QueueNotLoaded)) throw error;
        headSize = headSize === undefined ? FIRST_HEAD : headSize * 8;
        continue;
      }
      if (decided.record === null) return decided.result;
      const plan = planWrite(ctx, keyId, loaded, decided.record, nowMs, ctx.bounds);
      if (plan === null) return decided.result;
      const marker = { id: newToken(), result: decided.result, atMs: nowMs };
      mine.add(marker.id);
      // A field that changes with every write, so that the precondition of every step that read before this one fails.
      plan.key.step = marker.id;
      const batch = batchOf(ctx, ref, loaded, plan);
      addMarker(ctx, batch, keyId, marker);
      ctx.assertOpen();
      try {
        await batch.commit();
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

/** A short, jittered pause: the winner of the race is one round trip ahead. */
function backoff(attempt: number): Promise<void> {
  const ceilingMs = Math.min(50, 2 ** Math.min(attempt, 6));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
}
