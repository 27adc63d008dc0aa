/**
 * A workload: clients take grants on a few keys (some trying once, some waiting in the
 * server's queue, some re-sending with an idempotency key after aborting), write to the
 * fenced resource while they hold, check ownership, sometimes extend, and release (or,
 * sometimes, let the lease run out). Every step is recorded with its outcome for the
 * checker. Seeded: one seed, one schedule of choices (the timing is the server's).
 */
import { type ExtendOp, HistoryRecorder, type OwnsOp, type ReleaseOp, type WriteOp } from "../checker/history.ts";
import { random } from "../random.ts";
import { acquire } from "./acquire.ts";
import { call, type Target } from "./http.ts";
import { FencedRegister } from "./register.ts";
import { shapeOf, type WorkloadKind } from "./shapes.ts";

export { random } from "../random.ts";

export interface MutexWorkload {
  clients: number;
  keys: number;
  /** Acquire attempts per client. */
  attempts: number;
  ttlMs: number;
  /** How long a holder works, at most. */
  holdMs: number;
  /** Share of acquires that wait in the queue (0..1), and for how long. */
  waitShare: number;
  waitMs: number;
  /** Share of grants left to expire instead of released (0..1). */
  abandonShare: number;
  seed: number;
  /** Keys begin with this (a prefix the proof owns). */
  keyPrefix: string;
  /** Share of waiting acquires (not retried) probed to date their place in the queue (default 0). */
  probeShare?: number;
}

export interface Workload extends MutexWorkload {
  kind: WorkloadKind;
  /** The semaphore's limit (default 3). */
  limit?: number;
  /** Share of acquires sent with an idempotency key and sent again (default 0); half aborted first. */
  retryShare?: number;
  /** The first send of such an acquire is aborted after up to this long (default 3 ms). */
  abortMs?: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function runMutex(target: Target, load: MutexWorkload, recorder = new HistoryRecorder()) {
  return runWorkload(target, { ...load, kind: "mutex" }, recorder);
}

export async function runWorkload(target: Target, load: Workload, recorder = new HistoryRecorder()) {
  const register = new FencedRegister();
  // Idempotency keys live as long as a grant; this run's own keep a re-run from meeting them.
  const run = `${load.seed}-${Date.now().toString(36)}`;
  const client = async (id: number) => {
    const next = random(load.seed * 1_000 + id);
    const name = `client-${id}`;
    for (let attempt = 0; attempt < load.attempts; attempt++) {
      const key = `${load.keyPrefix}${Math.floor(next() * load.keys)}`;
      const waits = next() < load.waitShare;
      // Drawn only when asked for, so that a mutex run without retries keeps its old schedule.
      const retryShare = load.retryShare ?? 0;
      const retried = retryShare > 0 && next() < retryShare;
      const probeShare = load.probeShare ?? 0;
      const probed = waits && !retried && probeShare > 0 && next() < probeShare;
      const shape = shapeOf(load.kind, next, load.limit ?? 3);
      const granted = await acquire(target, recorder, {
        client: name,
        key,
        shape,
        ttlMs: load.ttlMs,
        waitMs: waits ? load.waitMs : 0,
        // Half aborted (a retry of an unknown outcome), half answered (a duplicate of a grant).
        ...(retried ? { idempotencyKey: `${run}-${id}-${attempt}` } : {}),
        ...(retried && next() < 0.5 ? { abortAfterMs: next() * (load.abortMs ?? 3) } : {}),
        ...(probed ? { idempotencyKey: `${run}-${id}-${attempt}-q`, probeAfterMs: 1 + next() * 10 } : {}),
      });
      if (granted === undefined) continue;
      const { lockId, fence } = granted;
      // Writers only: shared holders overlap by right, so a fence cannot order their writes.
      if (shape.mode === "exclusive") {
        const write = recorder.invoke<WriteOp>({ type: "write", client: name, key, lockId, fence });
        recorder.complete(write, "ok", { accepted: register.write(key, fence) });
      }
      await pause(next() * load.holdMs);
      if (next() < 0.3) {
        const owns = recorder.invoke<OwnsOp>({ type: "owns", client: name, lockId });
        const answer = await call(target, "/v1/locks/owns", { lockId });
        recorder.complete(owns, answer.outcome, { owned: answer.body.owned === true, status: answer.status });
      }
      if (next() < 0.3) {
        const extend = recorder.invoke<ExtendOp>({ type: "extend", client: name, lockId, ttlMs: load.ttlMs });
        const answer = await call(target, "/v1/locks/extend", { lockId, ttlMs: load.ttlMs });
        recorder.complete(extend, answer.outcome, { status: answer.status });
      }
      if (next() < load.abandonShare) continue;
      const release = recorder.invoke<ReleaseOp>({ type: "release", client: name, lockId });
      const answer = await call(target, "/v1/locks/release", { lockId });
      recorder.complete(release, answer.outcome, { status: answer.status });
    }
  };
  await Promise.all(Array.from({ length: load.clients }, (_, id) => client(id)));
  return recorder.ops;
}
