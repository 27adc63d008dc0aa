/**
 * The memory backend decides on a key only when no write of it is in flight, and decides
 * in the same synchronous run as its last check. Found by the proof at 28,000 grants: a
 * release that had waited for a write resumed just after the queue's next write was
 * issued (a waiter served when the first write settled), and failed with Internal; an
 * idempotent retry of a granted request, the same way, was told "locked".
 */
import { type AcquireRequest, createMemoryBackend, type KeyState, keyIdOf, newToken } from "@holdfast/shared";
import { describe, expect, it } from "vitest";

/** A store whose writes settle when the test says so (`held`), or at once. */
function heldWrites() {
  const saved: KeyState[] = [];
  let hold: (() => void)[] | undefined;
  return {
    saved,
    holdNext: () => {
      hold = [];
    },
    releaseHeld: () => {
      const held = hold ?? [];
      hold = undefined;
      for (const settle of held) settle();
    },
    persist: {
      load: () => [],
      save(_keyId: string, state: KeyState) {
        saved.push(state);
        if (!hold) return;
        const queue = hold;
        return new Promise<void>((resolve) => queue.push(resolve));
      },
    },
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("memory backend, a write in flight", () => {
  it("serves a waiter when the write settles, and a release that waited for it still lands", async () => {
    let clock = 1_000;
    const writes = heldWrites();
    const backend = createMemoryBackend({ now: () => clock, persist: writes.persist });
    const keyId = await keyIdOf("t", "k");
    const shared = (ttlMs: number): AcquireRequest => ({
      tenant: "t",
      key: "k",
      keyId,
      token: newToken(),
      ttlMs,
      mode: "shared",
      permits: 1,
      limit: 2,
    });
    const short = shared(100);
    const long = shared(60_000);
    expect((await backend.acquire(short)).ok).toBe(true);
    expect((await backend.acquire(long)).ok).toBe(true);
    // The semaphore is full: this one waits.
    const waiter = shared(60_000);
    let queued!: () => void;
    const isQueued = new Promise<void>((resolve) => {
      queued = resolve;
    });
    const waiting = backend.acquireQueued?.(waiter, {
      waitMs: 60_000,
      signal: new AbortController().signal,
      onQueued: queued,
    });
    await isQueued;

    // A write in flight (an extend), and meanwhile the short lease runs out.
    writes.holdNext();
    const extended = backend.extend({ tenant: "t", keyId, token: long.token }, 60_000);
    await tick();
    clock += 200;
    // This release waits for the extend's write; when it settles, the queue serves the waiter
    // (the short lease is gone) and issues the next write before the release resumes.
    const released = backend.release({ tenant: "t", keyId, token: long.token });
    await tick();
    writes.releaseHeld();

    expect((await extended).ok).toBe(true);
    expect((await waiting)?.ok).toBe(true);
    expect((await released).ok).toBe(true);
    const holders = (await backend.lookup({ tenant: "t", key: "k", keyId })).holders.map((h) => h.token);
    expect(holders).toEqual([waiter.token]);
  });
});
