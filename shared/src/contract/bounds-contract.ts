/**
 * The bounds contract (R9), run against every Backend built with small bounds: a key at
 * its bound of holders or of waiters refuses with a capacity result and changes nothing,
 * a queue is served only up to the holder bound, and what is held or queued is never lost.
 */
import { describe, expect, it } from "vitest";
import type { Backend } from "../backend.ts";
import { type KeyBounds, MAX_CALLERS_PER_WAITER } from "../bounds.ts";
import type { AcquireRequest, AcquireResult, Grant } from "../model.ts";
import { type BackendFixture, keyHandle, openFixture, sleep, uniqueKey, useBackend } from "./helpers.ts";

/** Small enough to reach in a test on every store, large enough to show order. */
export const CONTRACT_BOUNDS: KeyBounds = { holders: 3, waiters: 5 };

export function runBoundsContract(
  name: string,
  make: (bounds: KeyBounds) => Promise<Backend | BackendFixture> | Backend | BackendFixture,
): void {
  describe(`bounds contract: ${name}`, () => {
    let backend!: Backend;
    useBackend(
      () => openFixture(() => make(CONTRACT_BOUNDS)),
      (opened) => {
        backend = opened;
      },
    );

    const granted = async (promise: Promise<AcquireResult>): Promise<Grant> => {
      const result = await promise;
      expect(result).toMatchObject({ ok: true });
      return result as Grant;
    };

    /** A waiting acquire that settles `inQueue` once it holds its place (or was answered). */
    const wait = (request: AcquireRequest, waitMs = 20_000) => {
      let onQueued = () => {};
      const queued = new Promise<void>((resolve) => {
        onQueued = resolve;
      });
      const acquireQueued = backend.acquireQueued as NonNullable<Backend["acquireQueued"]>;
      const signal = new AbortController().signal;
      const result = acquireQueued.call(backend, request, { waitMs, signal, onQueued });
      return Object.assign(result, { inQueue: Promise.race([queued, result.then(() => undefined)]) });
    };

    it("refuses a holder past the bound, changes nothing, and takes one again once there is room", async () => {
      const k = await keyHandle("t1", uniqueKey("holders-bound"));
      const shared = { mode: "shared" as const, limit: null };
      const first = await granted(backend.acquire(k.request({ ...shared, idempotencyKey: "first" })));
      const holders = [first];
      for (let i = 1; i < CONTRACT_BOUNDS.holders; i++) holders.push(await granted(backend.acquire(k.request(shared))));

      const refused = await backend.acquire(k.request(shared));
      expect(refused).toMatchObject({ ok: false, reason: "capacity", bound: "holders", max: CONTRACT_BOUNDS.holders });
      if (!refused.ok && refused.reason === "capacity") {
        expect(refused.retryAtMs).toBe(Math.min(...holders.map((h) => h.expiresAtMs)));
      }
      // A waiting request with nobody ahead of it is refused as clearly.
      expect(await wait(k.request(shared), 200)).toMatchObject({ ok: false, reason: "capacity", bound: "holders" });
      const view = await backend.lookup(k.lookupRef);
      expect(view.holders.map((h) => h.token).sort()).toEqual(holders.map((h) => h.token).sort());
      expect(view.fence).toBe(CONTRACT_BOUNDS.holders);

      // A retry of a grant it holds is no new holder; an exclusive request is merely locked.
      const retried = await backend.acquire(k.request({ ...shared, idempotencyKey: "first" }));
      expect(retried).toMatchObject({ ok: true, token: first.token, fence: first.fence });
      expect(await backend.acquire(k.request())).toMatchObject({ ok: false, reason: "locked" });

      await backend.release(k.ref(first.token));
      const next = await granted(backend.acquire(k.request(shared)));
      expect(next.fence).toBe(CONTRACT_BOUNDS.holders + 1);
    });

    it("refuses a waiter past the queue bound, and serves the queued ones in order", async () => {
      const k = await keyHandle("t1", uniqueKey("waiters-bound"));
      const holder = await granted(backend.acquire(k.request()));
      const order: number[] = [];
      const served: Promise<void>[] = [];
      // The first waiter keeps the key until the retry that joins it has its answer too.
      let joinedAnswered = () => {};
      const joinedSettled = new Promise<void>((resolve) => {
        joinedAnswered = resolve;
      });
      for (let i = 0; i < CONTRACT_BOUNDS.waiters; i++) {
        const waiting = wait(k.request({ idempotencyKey: `waiter-${i}` }));
        served.push(
          granted(waiting).then(async (grant) => {
            order.push(i);
            if (i === 0) await joinedSettled;
            await sleep(5);
            await backend.release(k.ref(grant.token));
          }),
        );
        await waiting.inQueue;
      }
      const refused = await wait(k.request(), 5_000);
      expect(refused).toMatchObject({ ok: false, reason: "capacity", bound: "waiters", max: CONTRACT_BOUNDS.waiters });
      // Trying once never queues, so it is merely locked; a retry joins its original, no new waiter.
      expect(await backend.acquire(k.request())).toMatchObject({ ok: false, reason: "locked" });
      const joined = wait(k.request({ idempotencyKey: "waiter-0" }));
      await joined.inQueue;
      joined.then(joinedAnswered, joinedAnswered);

      await backend.release(k.ref(holder.token));
      await Promise.all(served);
      expect(order).toEqual([...Array(CONTRACT_BOUNDS.waiters).keys()]);
      expect(await joined).toMatchObject({ ok: true });
      expect((await backend.lookup(k.lookupRef)).fence).toBe(CONTRACT_BOUNDS.waiters + 1);
    });

    it("takes a bounded number of retries into one waiter, and answers them all with its grant", async () => {
      const k = await keyHandle("t1", uniqueKey("callers-bound"));
      const holder = await granted(backend.acquire(k.request()));
      const callers: Promise<AcquireResult>[] = [];
      for (let i = 0; i < MAX_CALLERS_PER_WAITER; i++) {
        const attempt = wait(k.request({ idempotencyKey: "retried" }));
        callers.push(attempt);
        await attempt.inQueue;
      }
      const refused = await wait(k.request({ idempotencyKey: "retried" }), 5_000);
      expect(refused).toMatchObject({ ok: false, reason: "capacity", bound: "callers", max: MAX_CALLERS_PER_WAITER });
      await backend.release(k.ref(holder.token));
      const answers = await Promise.all(callers);
      const grant = answers[0] as Grant;
      expect(grant).toMatchObject({ ok: true, fence: 2 });
      for (const answer of answers) expect(answer).toMatchObject({ ok: true, token: grant.token, fence: 2 });
    });

    it("serves a queue of readers only up to the holder bound, and the rest as room is made", async () => {
      const k = await keyHandle("t1", uniqueKey("serve-to-bound"));
      const writer = await granted(backend.acquire(k.request()));
      const readers: Promise<AcquireResult>[] = [];
      // One after another, so that their order in the queue is certain.
      for (let i = 0; i < CONTRACT_BOUNDS.holders + 2; i++) {
        const reader = wait(k.request({ mode: "shared", limit: null }));
        readers.push(reader);
        await reader.inQueue;
      }
      await backend.release(k.ref(writer.token));
      const first = await Promise.all(readers.slice(0, CONTRACT_BOUNDS.holders).map(granted));
      expect((await backend.lookup(k.lookupRef)).holders).toHaveLength(CONTRACT_BOUNDS.holders);

      // Room for one more: the next reader in line, and no other.
      await backend.release(k.ref((first[0] as Grant).token));
      const fourth = await granted(readers[CONTRACT_BOUNDS.holders] as Promise<AcquireResult>);
      expect(fourth.fence).toBe(CONTRACT_BOUNDS.holders + 2);
      expect((await backend.lookup(k.lookupRef)).holders).toHaveLength(CONTRACT_BOUNDS.holders);
      await backend.release(k.ref(fourth.token));
      await granted(readers[CONTRACT_BOUNDS.holders + 1] as Promise<AcquireResult>);
    });
  });
}
