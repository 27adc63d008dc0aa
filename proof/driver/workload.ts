/**
 * The mutex workload: clients take exclusive grants on a few keys (some trying once, some
 * waiting in the server's queue), write to the fenced resource while they hold, check
 * ownership, sometimes extend, and release (or, sometimes, let the lease run out). Every
 * step is recorded with its outcome for the checker. Seeded: one seed, one schedule of
 * choices (the timing is the server's).
 */
import {
  type AcquireOp,
  type ExtendOp,
  HistoryRecorder,
  type OwnsOp,
  type ReleaseOp,
  type WriteOp,
} from "../checker/history.ts";
import { call, type Target } from "./http.ts";
import { FencedRegister } from "./register.ts";

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
}

/** A small, fast generator (mulberry32): the same seed, the same choices. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runMutex(target: Target, load: MutexWorkload, recorder = new HistoryRecorder()) {
  const register = new FencedRegister();
  const client = async (id: number) => {
    const next = random(load.seed * 1_000 + id);
    const name = `client-${id}`;
    for (let attempt = 0; attempt < load.attempts; attempt++) {
      const key = `${load.keyPrefix}${Math.floor(next() * load.keys)}`;
      const waits = next() < load.waitShare;
      const acquire = recorder.invoke<AcquireOp>({
        type: "acquire",
        client: name,
        key,
        mode: "exclusive",
        permits: 1,
        limit: null,
        ttlMs: load.ttlMs,
        waited: waits,
      });
      const granted = await call(target, "/v1/locks/acquire", {
        key,
        ttlMs: load.ttlMs,
        waitMs: waits ? load.waitMs : 0,
      });
      const lockId = typeof granted.body.lockId === "string" ? granted.body.lockId : undefined;
      const fence = typeof granted.body.fence === "string" ? BigInt(granted.body.fence) : undefined;
      if (granted.outcome !== "ok" || lockId === undefined || fence === undefined) {
        recorder.complete(acquire, granted.outcome === "ok" ? "unknown" : granted.outcome);
        continue;
      }
      recorder.complete(acquire, "ok", { lockId, fence });

      const write = recorder.invoke<WriteOp>({ type: "write", client: name, key, lockId, fence });
      recorder.complete(write, "ok", { accepted: register.write(key, fence) });
      await pause(next() * load.holdMs);
      if (next() < 0.3) {
        const owns = recorder.invoke<OwnsOp>({ type: "owns", client: name, lockId });
        const answer = await call(target, "/v1/locks/owns", { lockId });
        recorder.complete(owns, answer.outcome, { owned: answer.body.owned === true });
      }
      if (next() < 0.3) {
        const extend = recorder.invoke<ExtendOp>({ type: "extend", client: name, lockId, ttlMs: load.ttlMs });
        const answer = await call(target, "/v1/locks/extend", { lockId, ttlMs: load.ttlMs });
        recorder.complete(extend, answer.outcome);
      }
      if (next() < load.abandonShare) continue;
      const release = recorder.invoke<ReleaseOp>({ type: "release", client: name, lockId });
      const answer = await call(target, "/v1/locks/release", { lockId });
      recorder.complete(release, answer.outcome);
    }
  };
  await Promise.all(Array.from({ length: load.clients }, (_, id) => client(id)));
  return recorder.ops;
}
