/**
 * The size contract (R9 at scale): one key filled to its bound of holders and to its
 * bound of waiters, past both, many requests at once. No overlap, no lost holder, no fence
 * reused, no error but the bound's refusal, and a release that serves a queue of readers
 * grants them all at once. Sizes are the suite's: as large as fits a CI run on the store.
 */
import { describe, expect, it } from "vitest";
import type { Backend } from "../backend.ts";
import type { KeyBounds } from "../bounds.ts";
import type { AcquireRequest, AcquireResult, Grant } from "../model.ts";
import { type BackendFixture, keyHandle, openFixture, uniqueKey, useBackend } from "./helpers.ts";

/** How many requests past each bound the suite sends. */
const PAST = 10;
/** Requests in flight at once. */
const PARALLEL = 16;

/** Runs `task` for 0..count-1, at most PARALLEL at a time; results in index order. */
async function inParallel<T>(count: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) results[i] = await task(i);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, count) }, worker));
  return results;
}

export function runSizeContract(
  name: string,
  sizes: KeyBounds,
  make: (bounds: KeyBounds) => Promise<Backend | BackendFixture> | Backend | BackendFixture,
): void {
  describe(`size contract: ${name} (${sizes.holders} holders, ${sizes.waiters} waiters)`, () => {
    let backend!: Backend;
    useBackend(
      () => openFixture(() => make(sizes)),
      (opened) => {
        backend = opened;
      },
    );

    const reader = { mode: "shared" as const, limit: null, ttlMs: 120_000 };
    const grantsOf = (results: AcquireResult[]) => results.filter((r): r is Grant => r.ok);
    const refusalsOf = (results: AcquireResult[]) => results.filter((r) => !r.ok);

    it("fills a key to its bound of holders, refuses the rest, and loses none", async () => {
      const k = await keyHandle("t1", uniqueKey("many-holders"));
      const results = await inParallel(sizes.holders + PAST, () => backend.acquire(k.request(reader)));
      const grants = grantsOf(results);
      expect(grants).toHaveLength(sizes.holders);
      for (const refusal of refusalsOf(results))
        expect(refusal).toMatchObject({ reason: "capacity", bound: "holders" });
      expect(new Set(grants.map((g) => g.fence)).size).toBe(sizes.holders);
      expect(Math.max(...grants.map((g) => g.fence))).toBe(sizes.holders);

      const view = await backend.lookup(k.lookupRef);
      expect(view.holders.map((h) => h.token).sort()).toEqual(grants.map((g) => g.token).sort());
      expect(await backend.acquire(k.request())).toMatchObject({ ok: false, reason: "locked" });
      const released = await inParallel(grants.length, (i) => backend.release(k.ref((grants[i] as Grant).token)));
      expect(released.every((r) => r.ok)).toBe(true);
      expect(await backend.acquire(k.request())).toMatchObject({ ok: true, fence: sizes.holders + 1 });
    });

    it("queues a key's bound of waiters, refuses the rest, and one release serves every reader", async () => {
      const k = await keyHandle("t1", uniqueKey("many-waiters"));
      const writer = await backend.acquire(k.request());
      if (!writer.ok) throw new Error("the writer was not granted");
      const acquireQueued = backend.acquireQueued as NonNullable<Backend["acquireQueued"]>;
      const waiting: Promise<AcquireResult>[] = [];
      const placed = await inParallel(sizes.waiters + PAST, () => {
        const request: AcquireRequest = k.request(reader);
        return new Promise<AcquireResult | "queued">((resolve) => {
          const signal = new AbortController().signal;
          const answer = acquireQueued.call(backend, request, {
            waitMs: 60_000,
            signal,
            onQueued: () => resolve("queued"),
          });
          waiting.push(answer);
          answer.then(resolve, () => resolve({ ok: false, reason: "locked", serverTimeMs: 0, retryAtMs: 0 }));
        });
      });
      expect(placed.filter((p) => p === "queued")).toHaveLength(sizes.waiters);
      for (const refusal of placed.filter((p) => p !== "queued")) {
        expect(refusal).toMatchObject({ ok: false, reason: "capacity", bound: "waiters" });
      }

      expect(await backend.release(k.ref(writer.token))).toMatchObject({ ok: true });
      const served = await Promise.all(waiting);
      const grants = grantsOf(served);
      expect(grants).toHaveLength(sizes.waiters);
      expect(new Set(grants.map((g) => g.fence)).size).toBe(sizes.waiters);
      expect(Math.min(...grants.map((g) => g.fence))).toBe(2);
      expect((await backend.lookup(k.lookupRef)).holders).toHaveLength(sizes.waiters);
    });
  });
}
