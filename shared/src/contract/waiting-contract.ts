/**
 * The waiting contract, for backends with their own queue (Backend.acquireQueued):
 * FIFO within a priority, higher priority first, timeouts that answer "locked",
 * waiters that leave when their client does, writers that readers cannot starve,
 * and a releaser that cannot re-grab the key ahead of a waiter.
 */
import { describe, expect, it } from "vitest";
import type { Backend } from "../backend.ts";
import type { AcquireRequest, AcquireResult, Grant } from "../model.ts";
import { keyHandle, type MakeBackend, sleep, uniqueKey, useBackend } from "./helpers.ts";
import { runContention } from "./ledger.ts";

export function runWaitingContract(name: string, make: MakeBackend): void {
  describe(`waiting contract: ${name}`, () => {
    let backend!: Backend;
    useBackend(make, (opened) => {
      if (!opened.acquireQueued) throw new Error(`${name} has no acquireQueued`);
      backend = opened;
    });

    /**
     * A waiting acquire, and `inQueue`: settles once the backend says the request holds its
     * place in the queue (or has been answered). Arrival order is then certain, without sleeps.
     */
    const wait = (request: AcquireRequest, waitMs: number, signal = new AbortController().signal) => {
      let onQueued = () => {};
      const queued = new Promise<void>((resolve) => {
        onQueued = resolve;
      });
      const acquireQueued = backend.acquireQueued as NonNullable<Backend["acquireQueued"]>;
      const result = acquireQueued.call(backend, request, { waitMs, signal, onQueued });
      const inQueue = Promise.race([queued, result.then(() => undefined)]);
      return Object.assign(result, { inQueue });
    };

    const granted = async (promise: Promise<AcquireResult>): Promise<Grant> => {
      const result = await promise;
      expect(result).toMatchObject({ ok: true });
      return result as Grant;
    };

    /**
     * Queues waiters one after another, so that their arrival order is certain. Each
     * writes its label down when served and releases shortly after, handing on the key.
     */
    async function queueInOrder(
      k: Awaited<ReturnType<typeof keyHandle>>,
      requests: AcquireRequest[],
      labels: string[],
    ) {
      const order: string[] = [];
      const done: Promise<void>[] = [];
      for (const [i, request] of requests.entries()) {
        const waiting = wait(request, 20_000);
        done.push(
          granted(waiting).then(async (grant) => {
            order.push(labels[i] ?? String(i));
            await sleep(5);
            await backend.release(k.ref(grant.token));
          }),
        );
        await waiting.inQueue;
      }
      return { order, done: Promise.all(done) };
    }

    // R8
    it("serves waiters first come, first served, each on the previous one's release", async () => {
      const k = await keyHandle("t1", uniqueKey("fifo"));
      const holder = await granted(backend.acquire(k.request()));
      const labels = ["a", "b", "c", "d", "e"];
      const queued = await queueInOrder(
        k,
        labels.map(() => k.request()),
        labels,
      );
      expect(queued.order).toEqual([]);
      await backend.release(k.ref(holder.token));
      await queued.done;
      expect(queued.order).toEqual(labels);
    });

    // R8
    it("serves higher priorities first, FIFO within a priority", async () => {
      const k = await keyHandle("t1", uniqueKey("priority"));
      const holder = await granted(backend.acquire(k.request()));
      const priorities = [0, 5, 0, 10, 5];
      const labels = ["p0-first", "p5-first", "p0-second", "p10", "p5-second"];
      const queued = await queueInOrder(
        k,
        priorities.map((priority) => k.request({ priority })),
        labels,
      );
      await backend.release(k.ref(holder.token));
      await queued.done;
      expect(queued.order).toEqual(["p10", "p5-first", "p5-second", "p0-first", "p0-second"]);
    });

    it("answers locked when waitMs runs out", async () => {
      const k = await keyHandle("t1", uniqueKey("timeout"));
      await granted(backend.acquire(k.request()));
      const started = Date.now();
      expect(await wait(k.request(), 150)).toMatchObject({ ok: false, reason: "locked" });
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    });

    it("drops a waiter whose client went away and serves the one behind it", async () => {
      const k = await keyHandle("t1", uniqueKey("disconnect"));
      const holder = await granted(backend.acquire(k.request()));
      const client = new AbortController();
      const leaving = wait(k.request(), 20_000, client.signal);
      await leaving.inQueue;
      const staying = wait(k.request(), 20_000);
      await staying.inQueue;
      client.abort();
      expect(await leaving).toMatchObject({ ok: false, reason: "locked" });
      await backend.release(k.ref(holder.token));
      const next = await granted(staying);
      const view = await backend.lookup(k.lookupRef);
      expect(view.holders.map((h) => h.token)).toEqual([next.token]);
    });

    it("wakes a waiter when the holder expires, without a release", async () => {
      const k = await keyHandle("t1", uniqueKey("expiry-wake"));
      const holder = await granted(backend.acquire(k.request({ ttlMs: 200 })));
      const next = await granted(wait(k.request(), 10_000));
      expect(next.fence).toBe(holder.fence + 1);
      expect(next.acquiredAtMs).toBeGreaterThanOrEqual(holder.expiresAtMs);
    });

    // R8 (a newcomer never passes the head)
    it("does not let a stream of readers starve a waiting writer", async () => {
      const k = await keyHandle("t1", uniqueKey("writer"));
      const reader = await granted(backend.acquire(k.request({ mode: "shared" })));
      const writer = wait(k.request(), 20_000);
      await writer.inQueue;
      // A new reader fits with the current one, but must not pass the waiting writer.
      expect(await backend.acquire(k.request({ mode: "shared" }))).toMatchObject({ ok: false, reason: "locked" });
      const lateReader = wait(k.request({ mode: "shared" }), 20_000);
      await lateReader.inQueue;
      await backend.release(k.ref(reader.token));
      const write = await granted(writer);
      await backend.release(k.ref(write.token));
      const read = await granted(lateReader);
      expect(read.fence).toBeGreaterThan(write.fence);
    });

    it("hands the key to a waiter before the releaser can take it back", async () => {
      const k = await keyHandle("t1", uniqueKey("handoff"));
      const holder = await granted(backend.acquire(k.request()));
      const waiter = wait(k.request(), 20_000);
      await waiter.inQueue;
      await backend.release(k.ref(holder.token));
      expect(await backend.acquire(k.request())).toMatchObject({ ok: false, reason: "locked" });
      await granted(waiter);
    });

    /** Resolves to the outcome, or to "pending" if it has not settled within `ms`. */
    const within = <T>(promise: Promise<T>, ms: number) =>
      Promise.race([promise, sleep(ms).then(() => "pending" as const)]);

    it("serves the head on the release itself, with no other request to stir the queue", async () => {
      const k = await keyHandle("t1", uniqueKey("release-dispatch"));
      const holder = await granted(backend.acquire(k.request({ ttlMs: 20_000 })));
      const waiter = wait(k.request(), 30_000);
      await waiter.inQueue;
      await backend.release(k.ref(holder.token));
      expect(await within(waiter, 3_000)).toMatchObject({ ok: true, fence: holder.fence + 1 });
    });

    // R7 (extend), R8
    it("wakes the waiter when the holder shortens its lease", async () => {
      const k = await keyHandle("t1", uniqueKey("shorten"));
      const holder = await granted(backend.acquire(k.request({ ttlMs: 60_000 })));
      const waiter = wait(k.request(), 30_000);
      await waiter.inQueue;
      expect(await backend.extend(k.ref(holder.token), 200)).toMatchObject({ ok: true });
      expect(await within(waiter, 5_000)).toMatchObject({ ok: true, fence: holder.fence + 1 });
    });

    // R8
    it("lets the waiters behind a departing head through at once", async () => {
      const k = await keyHandle("t1", uniqueKey("head-leaves"));
      await granted(backend.acquire(k.request({ mode: "shared", ttlMs: 20_000 })));
      const writerClient = new AbortController();
      const writer = wait(k.request(), 30_000, writerClient.signal);
      await writer.inQueue;
      const reader = wait(k.request({ mode: "shared" }), 30_000);
      await reader.inQueue;
      expect(await within(reader, 100)).toBe("pending"); // behind the writer, though it would fit
      writerClient.abort();
      expect(await writer).toMatchObject({ ok: false, reason: "locked" });
      expect(await within(reader, 3_000)).toMatchObject({ ok: true });
    });

    // R8, R3 (the same request)
    it("answers a try-once retry of a queued request at once, and checks its parameters", async () => {
      const k = await keyHandle("t1", uniqueKey("idem-join"));
      const holder = await granted(backend.acquire(k.request({ ttlMs: 20_000 })));
      const original = wait(k.request({ idempotencyKey: "q" }), 30_000);
      await original.inQueue;
      expect(await within(backend.acquire(k.request({ idempotencyKey: "q" })), 3_000)).toMatchObject({
        ok: false,
        reason: "locked",
      });
      expect(await wait(k.request({ mode: "shared", idempotencyKey: "q" }), 5_000)).toMatchObject({
        ok: false,
        reason: "idempotency-mismatch",
      });
      expect(await wait(k.request({ ttlMs: 12_345, idempotencyKey: "q" }), 5_000)).toMatchObject({
        ok: false,
        reason: "idempotency-mismatch",
      });
      await backend.release(k.ref(holder.token));
      expect(await original).toMatchObject({ ok: true });
    });

    it("keeps a joined retry waiting when the original's client leaves", async () => {
      const k = await keyHandle("t1", uniqueKey("idem-leave"));
      const holder = await granted(backend.acquire(k.request({ ttlMs: 20_000 })));
      const originalClient = new AbortController();
      const original = wait(k.request({ idempotencyKey: "r" }), 30_000, originalClient.signal);
      await original.inQueue;
      const retry = wait(k.request({ idempotencyKey: "r" }), 30_000);
      await retry.inQueue;
      originalClient.abort();
      expect(await original).toMatchObject({ ok: false, reason: "locked" });
      expect(await within(retry, 200)).toBe("pending");
      await backend.release(k.ref(holder.token));
      const grant = await granted(retry);
      expect((await backend.lookup(k.lookupRef)).holders.map((h) => h.token)).toEqual([grant.token]);
    });

    it("never overlaps sections or reorders fences when every grant is a handoff from the queue", async () => {
      const report = await runContention(backend, {
        workers: 12,
        keys: 2,
        grantsPerWorker: 6,
        holdMs: 2,
        waitMs: 20_000,
      });
      expect(report.grants).toBe(12 * 6);
      expect(report).toMatchObject({ clientOverlaps: 0, storeOverlaps: 0, fenceViolations: 0, lostReleases: 0 });
    }, 60_000);

    it("grants a retried waiting request once: the retry joins the original", async () => {
      const k = await keyHandle("t1", uniqueKey("idem-wait"));
      const holder = await granted(backend.acquire(k.request()));
      const original = wait(k.request({ idempotencyKey: "job-9" }), 20_000);
      await original.inQueue;
      const retry = wait(k.request({ idempotencyKey: "job-9" }), 20_000);
      await retry.inQueue;
      await backend.release(k.ref(holder.token));
      const [a, b] = await Promise.all([granted(original), granted(retry)]);
      expect(b.token).toBe(a.token);
      expect((await backend.lookup(k.lookupRef)).holders).toHaveLength(1);
    });
  });
}
