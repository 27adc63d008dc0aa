/**
 * A waiter in a store's own queue (Upstash, Neon, Firestore) is told of its grant by a
 * push. If that push is lost, the head still finds its grant within a few seconds, not at
 * its blocker's expiry; the waiters behind it do not poll the store for it.
 */
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { type AcquireResult, acquireInStoreQueue, type QueueStatus, type StoreQueue } from "../src/index.ts";

const LEASE_MS = 60_000;

/** A queue whose channel confirms at once and never pushes: every push is lost. */
function silentQueue(rank: number) {
  const startedAt = Date.now();
  const state = { granted: false, checks: 0 };
  const grant: AcquireResult = {
    ok: true,
    token: "w",
    fence: 2,
    acquiredAtMs: startedAt,
    expiresAtMs: startedAt + 10_000,
    serverTimeMs: startedAt,
  };
  const queued = (): QueueStatus => ({
    queued: true,
    serverTimeMs: Date.now(),
    retryAtMs: startedAt + LEASE_MS,
    rank,
  });
  const queue: StoreQueue = {
    enqueue: async () => queued(),
    subscribe: () => ({ ready: Promise.resolve(true), ended: new Promise(() => {}), close() {} }),
    check: async () => {
      state.checks++;
      return state.granted ? { queued: false, result: { ...grant, serverTimeMs: Date.now() } } : queued();
    },
    release: async () => undefined,
  };
  return { queue, state };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

it("lets the head find a grant whose push was lost within seconds, long before its blocker expires", async () => {
  const { queue, state } = silentQueue(0);
  let answer: AcquireResult | undefined;
  void acquireInStoreQueue(queue, false, { waitMs: 120_000, signal: new AbortController().signal }).then((result) => {
    answer = result;
  });
  await vi.advanceTimersByTimeAsync(100);
  expect(state.checks).toBe(1); // the check after subscribing
  state.granted = true; // the release served it; its push never arrives
  await vi.advanceTimersByTimeAsync(4_000);
  expect(answer).toBeUndefined();
  await vi.advanceTimersByTimeAsync(1_500);
  expect(answer).toMatchObject({ ok: true, token: "w" });
  expect(state.checks).toBe(2);
});

it("keeps the waiters behind the head off the store until their blocker's expiry", async () => {
  const { queue, state } = silentQueue(3);
  const controller = new AbortController();
  const waiting = acquireInStoreQueue(queue, false, { waitMs: 120_000, signal: controller.signal });
  await vi.advanceTimersByTimeAsync(LEASE_MS - 1_000);
  expect(state.checks).toBe(1);
  await vi.advanceTimersByTimeAsync(2_000);
  expect(state.checks).toBeGreaterThan(1); // asks once the lease has run out
  controller.abort();
  await vi.advanceTimersByTimeAsync(10);
  await expect(waiting).resolves.toMatchObject({ ok: false, reason: "locked" });
});
