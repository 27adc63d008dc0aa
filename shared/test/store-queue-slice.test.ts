/**
 * The store queue's rules (core/store-queue.ts) on a loaded part of the queue, as the
 * Firestore backend gives it: the head up to a frontier plus a count. The same decisions
 * as on the whole queue, and QueueNotLoaded (nothing decided) when a step needs a waiter
 * past what was loaded.
 */
import { expect, it } from "vitest";
import {
  type AcquireRequest,
  cloneQueuedState,
  emptyQueuedState,
  type QueuedKeyState,
  QueueNotLoaded,
  queuedAcquire,
  queueLength,
  releaseAndServe,
} from "../src/index.ts";

const bounds = { holders: 100, waiters: 10 };
const NOW = 1_000_000;

function request(token: string, mode: "exclusive" | "shared" = "exclusive"): AcquireRequest {
  return { tenant: "t", key: "k", keyId: "id", token, ttlMs: 10_000, mode, permits: 1, limit: null };
}

/** A key held exclusively by `holder`, with `n` shared waiters queued behind it. */
function queueOf(n: number): QueuedKeyState {
  const state = emptyQueuedState("t", "k");
  queuedAcquire(state, request("holder"), 0, NOW, bounds);
  for (let i = 0; i < n; i++) queuedAcquire(state, request(`r${i}`, "shared"), 60_000, NOW, bounds);
  return state;
}

/** The first `loaded` waiters of `state` and the count, as a store that loads part of the queue reads it. */
function slice(state: QueuedKeyState, loaded: number): QueuedKeyState {
  const part = cloneQueuedState(state);
  part.waiting = state.waiters.length;
  part.waiters = part.waiters.slice(0, loaded);
  const last = part.waiters.at(-1);
  if (loaded < state.waiters.length && last) part.frontier = { priority: last.priority, seq: last.seq };
  return part;
}

it("counts the whole queue, not what was loaded, against the waiters bound", () => {
  const part = slice(queueOf(10), 2);
  expect(queuedAcquire(part, request("late"), 60_000, NOW, bounds)).toMatchObject({
    queued: false,
    result: { ok: false, reason: "capacity", bound: "waiters", max: 10 },
  });
  expect(queueLength(part)).toBe(10);
});

it("queues behind a loaded head and counts the newcomer", () => {
  const part = slice(queueOf(5), 2);
  expect(queuedAcquire(part, request("late"), 60_000, NOW, bounds)).toMatchObject({ queued: true });
  expect(queueLength(part)).toBe(6);
});

it("says QueueNotLoaded when a release would serve past the loaded head, and serves all of it when loaded", () => {
  const whole = queueOf(5);
  expect(() => releaseAndServe(slice(whole, 2), { tenant: "t", keyId: "id", token: "holder" }, NOW, bounds)).toThrow(
    QueueNotLoaded,
  );
  const loaded = slice(whole, 5);
  expect(releaseAndServe(loaded, { tenant: "t", keyId: "id", token: "holder" }, NOW, bounds)).toMatchObject({
    ok: true,
  });
  expect(loaded.holders.map((h) => h.token)).toEqual(["r0", "r1", "r2", "r3", "r4"]);
  expect(queueLength(loaded)).toBe(0);
});

it("serves a loaded head that is enough without asking for more", () => {
  const state = emptyQueuedState("t", "k");
  queuedAcquire(state, request("holder"), 0, NOW, bounds);
  for (let i = 0; i < 4; i++) queuedAcquire(state, request(`w${i}`), 60_000, NOW, bounds);
  const part = slice(state, 2);
  releaseAndServe(part, { tenant: "t", keyId: "id", token: "holder" }, NOW, bounds);
  expect(part.holders.map((h) => h.token)).toEqual(["w0"]);
  expect(part.waiters.map((w) => w.token)).toEqual(["w1"]);
  expect(queueLength(part)).toBe(3);
});
