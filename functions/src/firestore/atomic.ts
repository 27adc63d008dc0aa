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
import { MAX_GROUP, type Waiting } from "./lanes.ts";
import { addMarker, landedMarkers } from "./markers.ts";
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

/** Firestore's most writes in one batch. */
const MAX_WRITES = 500;

/** A step in its lane: what it decides, and the markers of its attempts that wrote. */
interface Step extends Waiting {
  decide: Decide<unknown>;
  options: StepOptions;
  markers: string[];
}

export function atomically<R>(
  ctx: FirestoreContext,
  keyId: string,
  decide: Decide<R>,
  options: StepOptions,
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const step: Step = { decide, options, markers: [], resolve: resolve as (value: unknown) => void, reject };
    ctx.lanes.join(ctx.docOf(keyId).id, step, (group) => runGroup(ctx, keyId, group));
  });
}

/**
 * One read, each step's rules applied in turn to the record the steps before it left, and
 * one batch with every step's writes and markers, conditional on the read: the steps land
 * together, or none does and the group decides again on a new read. No answer leaves
 * before its batch committed, since a later step's answer may rest on an earlier one's
 * write. Steps handed back (the batch would be too big) run in the lane's next turn.
 */
async function runGroup(ctx: FirestoreContext, keyId: string, group: Step[]): Promise<Step[]> {
  const ref = ctx.docOf(keyId);
  const startedMs = ctx.now();
  let steps = group.slice(0, MAX_GROUP);
  let handedBack = group.slice(MAX_GROUP);
  // The front in the key document stands for the head until a step runs past it.
  let headSize: number | undefined;
  for (let attempt = 0; steps.length > 0; attempt++) {
    const { snapshot, nowMs } = await readAt(ctx, ref);
    // A re-sent commit of an earlier attempt may have landed: its steps answer what they wrote.
    const landed = await landedMarkers(
      ctx,
      keyId,
      steps.flatMap((s) => s.markers),
    );
    steps = steps.filter((step) => {
      const marker = step.markers.find((id) => landed.has(id));
      if (marker !== undefined) step.resolve(landed.get(marker));
      return marker === undefined;
    });
    if (steps.length === 0) break;
    if (attempt > 0 && ctx.now() - startedMs > ctx.contentionBudgetMs) {
      const error = new LockError(
        "ServiceUnavailable",
        `too much contention on this key: ${attempt} writes lost their race in ${ctx.contentionBudgetMs} ms; retry`,
      );
      for (const step of steps) step.reject(error);
      break;
    }
    const loaded = await loadStep(
      ctx,
      keyId,
      snapshot,
      steps.map((s) => s.options),
      headSize,
    );
    const decided = decideInTurn(ctx, steps, loaded.record, nowMs);
    if (decided === "head") {
      headSize = headSize === undefined ? FIRST_HEAD : headSize * 8;
      continue;
    }
    const plan = decided.record && planWrite(ctx, keyId, loaded, decided.record, nowMs, ctx.bounds, decided.passed);
    if (!plan) {
      // Nothing changed: the read alone answers every step.
      answer(steps, decided.results);
      break;
    }
    const writing = steps.filter((_, i) => decided.wrote[i]);
    if (steps.length > 1 && 1 + plan.waiters.size + writing.length > MAX_WRITES) {
      handedBack = [...steps.slice(Math.ceil(steps.length / 2)), ...handedBack];
      steps = steps.slice(0, Math.ceil(steps.length / 2));
      continue;
    }
    // Each step that wrote gets a marker of its own with its answer (markers.ts).
    const ids = steps.map((_, i) => (decided.wrote[i] ? newToken() : undefined));
    // A field that changes with every write, so that the precondition of every step that
    // read before this one fails. Set before the batch takes the key's fields: an update
    // copies them when it is added, and a write that changed no field would keep the
    // document's update time.
    plan.key.step = ids.find((id) => id !== undefined) ?? newToken();
    const batch = batchOf(ctx, ref, loaded, plan);
    steps.forEach((step, i) => {
      const id = ids[i];
      if (id === undefined) return;
      step.markers.push(id);
      addMarker(ctx, batch, keyId, { id, result: decided.results[i], atMs: nowMs });
    });
    ctx.assertOpen();
    try {
      await batch.commit();
      answer(steps, decided.results);
      break;
    } catch (error) {
      if (!isConflict(error)) {
        const refused = toLockError(error);
        // A refusal of the batch's content (a document past 1 MiB) is one step's doing:
        // each step then runs alone and gets its own answer. The store being down is everyone's.
        if (steps.length > 1 && (refused.code === "CapacityExceeded" || refused.code === "Internal")) {
          handedBack = [...steps.slice(1), ...handedBack];
          steps = steps.slice(0, 1);
          continue;
        }
        // Steps refused by their own rules keep that answer; the others get the store's.
        answer(
          steps,
          decided.results.map((result) => (result instanceof Refused ? result : new Refused(refused))),
        );
        break;
      }
    }
    // Lost the race, or a re-sent commit of this very write failed its precondition:
    // the next read tells which. A group that keeps losing may hold a step that always
    // conflicts (a create of a document that exists): halving it lets the others through.
    if (attempt >= 2 && steps.length > 1) {
      handedBack = [...steps.slice(Math.ceil(steps.length / 2)), ...handedBack];
      steps = steps.slice(0, Math.ceil(steps.length / 2));
    }
    await backoff(attempt);
  }
  return handedBack;
}

/** A step's rules that threw (the instance may not grant, say): its answer is that error. */
class Refused {
  constructor(readonly error: unknown) {}
}

function answer(steps: Step[], results: unknown[]) {
  steps.forEach((step, i) => {
    const result = results[i];
    if (result instanceof Refused) step.reject(result.error);
    else step.resolve(result);
  });
}

/**
 * The steps' rules in arrival order, each on what the ones before it decided. A step whose
 * rules throw is refused, and the record is as if it had not been there; its refusal, like
 * every answer, waits for the batch (it may rest on an earlier step's write). "head": a
 * step needs more of the queue than was read, and the group decides again. `record` is
 * null when no step writes.
 */
function decideInTurn(ctx: FirestoreContext, steps: Step[], initial: QueuedKeyState | null, nowMs: number) {
  let record = initial;
  let writes = false;
  // Every waiter queued at some point: one queued and served within the group needs its document.
  const passed = new Map((initial?.waiters ?? []).map((w) => [w.token, w]));
  const results: unknown[] = [];
  const wrote: boolean[] = [];
  for (const step of steps) {
    let decided: ReturnType<Decide<unknown>>;
    try {
      if (step.options.grants) ctx.skew.assertCanGrant();
      decided = step.decide(record, nowMs);
    } catch (error) {
      if (error instanceof QueueNotLoaded) return "head" as const;
      results.push(new Refused(error));
      wrote.push(false);
      continue;
    }
    results.push(decided.result);
    wrote.push(decided.record !== null);
    if (decided.record !== null) {
      record = decided.record;
      writes = true;
      for (const w of record.waiters) passed.set(w.token, w);
    }
  }
  return { results, wrote, record: writes ? record : null, passed: passed.values() };
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
