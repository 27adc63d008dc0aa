/**
 * Instance clocks shifted by ±5 s against Firestore's. Decisions use the store's time (a
 * read's readTime), so with the skew guard off three instances at -5 s, 0 and +5 s share
 * keys and the ledger stays clean (with 3 s leases, a backend that decided by the instance
 * clock overlaps grants here; the shift reaches the backend's clock, not the waiter's timers); with the guard on (default tolerance 1000 ms) a
 * shifted instance refuses to grant, says why, and /health shows its skew.
 */
import { type AcquireRequest, type Backend, LockError } from "@holdfast/shared";
import { keyHandle, runContention, uniqueKey } from "@holdfast/shared/contract";
import { afterAll, describe, expect, it } from "vitest";
import { createFirestoreBackend } from "../src/firestore/backend.ts";
import { firestoreAt, firestoreFixture, sharedEmulator, stopSharedEmulator } from "./fixture.ts";

afterAll(stopSharedEmulator, 30_000);

const clean = { clientOverlaps: 0, storeOverlaps: 0, fenceViolations: 0, lostReleases: 0 };
const SHIFTS = [-5000, 0, 5000];

/** Each call goes to the next instance in turn: one key sees all three clocks. */
function roundRobin(backends: Backend[]): Backend {
  let next = 0;
  const pick = () => backends[next++ % backends.length] as Backend;
  return {
    name: "firestore (three instances)",
    acquire: (request) => pick().acquire(request),
    acquireQueued: (request, wait) => (pick().acquireQueued as NonNullable<Backend["acquireQueued"]>)(request, wait),
    release: (ref) => pick().release(ref),
    extend: (ref, ttlMs) => pick().extend(ref, ttlMs),
    owns: (ref) => pick().owns(ref),
    lookup: (ref) => pick().lookup(ref),
    time: () => pick().time(),
  };
}

describe("Firestore backend with shifted instance clocks", () => {
  it("decides by the store's time: grants stay correct with the guard off", async () => {
    const { firestore, collection } = await firestoreFixture();
    const instances = SHIFTS.map((shiftMs) =>
      createFirestoreBackend({
        firestore,
        collection,
        now: () => Date.now() + shiftMs,
        clockToleranceMs: Number.POSITIVE_INFINITY,
      }),
    );
    const mixed = roundRobin(instances);
    const tryOnce = await runContention(mixed, { workers: 12, keys: 1, grantsPerWorker: 3, holdMs: 2, ttlMs: 3000 });
    expect(tryOnce).toMatchObject({ grants: 36, ...clean });
    const queued = await runContention(mixed, {
      workers: 12,
      keys: 1,
      grantsPerWorker: 3,
      holdMs: 2,
      ttlMs: 3000,
      waitMs: 20_000,
    });
    expect(queued).toMatchObject({ grants: 36, ...clean });

    // The shifted instance's answer carries the store's time, not its own.
    const handle = await keyHandle("t", uniqueKey("skew"));
    const ahead = instances[2] as Backend;
    const grant = await ahead.acquire(handle.request({ ttlMs: 4000 }));
    expect(grant.ok).toBe(true);
    expect(Math.abs(grant.serverTimeMs - Date.now())).toBeLessThan(1000);
    if (grant.ok) expect(grant.expiresAtMs - grant.acquiredAtMs).toBe(4000);
    await firestore.terminate();
  }, 120_000);

  it.each(
    SHIFTS.filter((shift) => shift !== 0),
  )("refuses to grant on an instance %i ms off, and says so in /health", async (shiftMs) => {
    const emulator = await sharedEmulator();
    const firestore = firestoreAt(emulator.host);
    const backend = createFirestoreBackend({ firestore, collection: "skew", now: () => Date.now() + shiftMs });
    const handle = await keyHandle("t", uniqueKey("skewed"));
    const request: AcquireRequest = handle.request();
    const refused = await backend.acquire(request).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LockError);
    expect(refused).toMatchObject({ code: "ServiceUnavailable" });
    expect((refused as Error).message).toMatch(
      /clock is \d+ ms (ahead of|behind) Firestore's time \(tolerance 1000 ms\)/,
    );
    expect(backend.health?.()).toMatchObject({ clock: { authority: "firestore", withinTolerance: false } });
    // Nothing was granted; operations that grant nothing still work.
    expect(await backend.lookup(handle.lookupRef)).toMatchObject({ fence: 0, holders: [] });
    expect(await backend.release(handle.ref(request.token))).toMatchObject({ ok: false });
    // An instance on time grants the same key.
    const onTime = createFirestoreBackend({ firestore, collection: "skew" });
    expect(await onTime.acquire(handle.request())).toMatchObject({ ok: true, fence: 1 });
    expect(onTime.health?.()).toMatchObject({ clock: { withinTolerance: true } });
    await firestore.terminate();
  }, 60_000);
});
