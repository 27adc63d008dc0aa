/**
 * A waiter hears of its grant through a listener on its waiter document. A listener can
 * stall without failing: after its first snapshot it shows nothing more, and the release's
 * push never arrives. The waiter must still get the key within seconds of the release (it
 * reads its document when the listener has been quiet for a while), not at the deadline of
 * its wait or the end of a lease. Real client, real emulator; only the listeners' later
 * snapshots are held back.
 */
import { DocumentReference, Query } from "@google-cloud/firestore";
import type { AcquireResult, Backend } from "@holdfast/shared";
import { keyHandle, uniqueKey } from "@holdfast/shared/contract";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { firestoreFixture, stopSharedEmulator } from "./fixture.ts";

afterAll(stopSharedEmulator, 30_000);

type Listen = (onNext: (snapshot: unknown) => void, onError?: (error: Error) => void) => () => void;
const originals = { doc: DocumentReference.prototype.onSnapshot, query: Query.prototype.onSnapshot };

/**
 * Every listener started from now on shows its first snapshot and then stalls; resolves
 * once one has shown it (the waiter is then listening, and the release comes after).
 */
function stallListeners(): Promise<void> {
  let listening!: () => void;
  const first = new Promise<void>((resolve) => {
    listening = resolve;
  });
  const stalled = (original: Listen): Listen =>
    function (this: unknown, onNext, onError) {
      let shown = false;
      return original.call(
        this,
        (snapshot) => {
          if (shown) return;
          shown = true;
          onNext(snapshot);
          listening();
        },
        onError,
      );
    };
  DocumentReference.prototype.onSnapshot = stalled(originals.doc as unknown as Listen) as never;
  Query.prototype.onSnapshot = stalled(originals.query as unknown as Listen) as never;
  return first;
}

let fixture: Awaited<ReturnType<typeof firestoreFixture>>;
beforeAll(async () => {
  fixture = await firestoreFixture();
}, 60_000);
afterEach(() => {
  DocumentReference.prototype.onSnapshot = originals.doc;
  Query.prototype.onSnapshot = originals.query;
});
afterAll(() => fixture?.close(), 30_000);

for (const [label, idempotencyKey] of [
  ["listening by document", undefined],
  ["listening by caller (an idempotency key)", "job-1"],
] as const) {
  it(`serves a waiter whose listener stalled within seconds of the release (${label})`, async () => {
    const { backend } = fixture;
    const k = await keyHandle("t", uniqueKey("stall"));
    const holder = await backend.acquire(k.request({ ttlMs: 60_000 }));
    if (!holder.ok) throw new Error("the holder was not granted");
    const listening = stallListeners();
    const acquireQueued = backend.acquireQueued as NonNullable<Backend["acquireQueued"]>;
    let queued!: () => void;
    const inQueue = new Promise<void>((resolve) => {
      queued = resolve;
    });
    const waiter = acquireQueued.call(
      backend,
      k.request({ ttlMs: 10_000, ...(idempotencyKey ? { idempotencyKey } : {}) }),
      { waitMs: 60_000, signal: new AbortController().signal, onQueued: () => queued() },
    );
    await Promise.race([inQueue, waiter]);
    await listening;
    await backend.release(k.ref(holder.token));
    const releasedAt = Date.now();
    const result: AcquireResult = await waiter;
    expect(result).toMatchObject({ ok: true });
    expect(Date.now() - releasedAt).toBeLessThan(20_000); // without the read: the holder's lease, 60 s
  }, 40_000);
}
