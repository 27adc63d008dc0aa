/**
 * A burst on one key from one instance: 1,000 requests asked to wait, all at once, behind an
 * exclusive holder. Each step on a key used to run alone, one after the other (a read and a
 * write of the key document each), so a burst queued for longer than the lane's 5 s and the
 * tail was refused with 503 "slow to answer on this key". Steps that queue up behind one
 * another on a key now run as one group: one read, the core's rules applied to each in
 * arrival order, one batch. Every request must be queued, in the order it asked, and served
 * in that order, one at a time.
 */
import type { AcquireRequest, Backend, Grant } from "@holdfast/shared";
import { keyHandle, uniqueKey } from "@holdfast/shared/contract";
import { afterAll, expect, it } from "vitest";
import { firestoreFixture, stopSharedEmulator } from "./fixture.ts";

afterAll(stopSharedEmulator, 30_000);

const BURST = Number(process.env.BURST ?? 1_000);

it(`queues a burst of ${BURST} waiters on one key without a refusal, and serves them in order`, async () => {
  const fixture = await firestoreFixture();
  try {
    const { backend } = fixture;
    const k = await keyHandle("t", uniqueKey("burst"));
    const holder = await backend.acquire(k.request());
    if (!holder.ok) throw new Error("the holder was not granted");
    const acquireQueued = backend.acquireQueued as NonNullable<Backend["acquireQueued"]>;

    // All asked at once; a waiter releases as soon as it is served, so each grant is the next handoff.
    const servedOrder: string[] = [];
    const requests: AcquireRequest[] = Array.from({ length: BURST }, () => k.request());
    let queued = 0;
    // A refusal is recorded, not left unhandled: the test then fails on it by name.
    const refused: unknown[] = [];
    const answers = requests.map((request) =>
      acquireQueued
        .call(backend, request, { waitMs: 120_000, signal: new AbortController().signal, onQueued: () => queued++ })
        .then(async (result) => {
          if (result.ok) {
            servedOrder.push(request.token);
            await backend.release(k.ref(result.token));
          }
          return result;
        })
        .catch((error: unknown) => {
          refused.push(error);
          return undefined;
        }),
    );
    await expect.poll(() => queued + refused.length, { timeout: 60_000, interval: 100 }).toBe(BURST);
    expect(refused).toEqual([]);
    expect(await backend.release(k.ref(holder.token))).toMatchObject({ ok: true });

    const results = await Promise.all(answers);
    expect(refused).toEqual([]);
    const grants = results.filter((r): r is Grant => r?.ok === true);
    expect(grants).toHaveLength(BURST);
    // Queued in the order asked (the steps of one instance keep their order), and served so.
    expect(servedOrder).toEqual(requests.map((r) => r.token));
    expect(grants.map((g) => g.fence)).toEqual(Array.from({ length: BURST }, (_, i) => holder.fence + 1 + i));
  } finally {
    await fixture.close();
  }
}, 240_000);

it("hands the key to a waiter queued and served by the same group", async () => {
  const fixture = await firestoreFixture();
  try {
    const { backend } = fixture;
    const k = await keyHandle("t", uniqueKey("same-group"));
    const holder = await backend.acquire(k.request());
    if (!holder.ok) throw new Error("the holder was not granted");
    const acquireQueued = backend.acquireQueued as NonNullable<Backend["acquireQueued"]>;
    // Asked in one turn, so one group takes both: the waiter is queued, then the release serves it.
    const request = k.request();
    const waiting = acquireQueued.call(backend, request, { waitMs: 30_000, signal: new AbortController().signal });
    const released = backend.release(k.ref(holder.token));
    expect(await released).toMatchObject({ ok: true });
    expect(await waiting).toMatchObject({ ok: true, fence: holder.fence + 1 });
    // Its document was written with the grant (its listener's first snapshot hands it
    // over), not left unwritten for a check to find the grant later.
    const doc = await fixture.firestore
      .collection(fixture.collection)
      .doc(`k${k.keyId}`)
      .collection("w")
      .doc(`w${request.token}`)
      .get();
    expect(doc.get("outcome")).toMatchObject({ ok: true, fence: holder.fence + 1 });
  } finally {
    await fixture.close();
  }
}, 60_000);

it("gives a retry that joined a waiter the grant when the same group serves that waiter", async () => {
  const fixture = await firestoreFixture();
  try {
    const { backend } = fixture;
    const k = await keyHandle("t", uniqueKey("join-then-serve"));
    const holder = await backend.acquire(k.request());
    if (!holder.ok) throw new Error("the holder was not granted");
    const acquireQueued = backend.acquireQueued as NonNullable<Backend["acquireQueued"]>;
    const wait = () => ({ waitMs: 30_000, signal: new AbortController().signal });
    let queued!: () => void;
    const isQueued = new Promise<void>((resolve) => {
      queued = resolve;
    });
    const original = acquireQueued.call(backend, k.request({ idempotencyKey: "join" }), {
      ...wait(),
      onQueued: queued,
    });
    await isQueued;
    // One turn: the retry joins the waiter, then the release serves it; the served
    // document must name the retry among its callers, or the retry is told "locked".
    const retry = acquireQueued.call(backend, k.request({ idempotencyKey: "join" }), wait());
    expect(await backend.release(k.ref(holder.token))).toMatchObject({ ok: true });
    const [first, again] = await Promise.all([original, retry]);
    expect(first).toMatchObject({ ok: true, fence: holder.fence + 1 });
    expect(again).toMatchObject({ ok: true, fence: holder.fence + 1 });
  } finally {
    await fixture.close();
  }
}, 60_000);

it("lets a group's other steps through when one step can never land (a re-sent request's waiter exists)", async () => {
  const fixture = await firestoreFixture();
  try {
    const { backend } = fixture;
    const k = await keyHandle("t", uniqueKey("always-conflicts"));
    const holder = await backend.acquire(k.request());
    if (!holder.ok) throw new Error("the holder was not granted");
    const acquireQueued = backend.acquireQueued as NonNullable<Backend["acquireQueued"]>;
    /** Asks to wait; resolves once queued (or answered), with the answer still to come. */
    const queue = (request: AcquireRequest) =>
      new Promise<{ answer: Promise<unknown> }>((resolve) => {
        const answer: Promise<unknown> = acquireQueued
          .call(backend, request, {
            waitMs: 60_000,
            signal: new AbortController().signal,
            onQueued: () => resolve({ answer }),
          })
          .catch((error: unknown) => error);
        void answer.then(() => resolve({ answer }));
      });
    // Past the key document's front of 8, so the re-sent request's own waiter is not read.
    const requests = Array.from({ length: 10 }, () => k.request());
    for (const request of requests) await queue(request);
    // The same request re-sent (same token, no idempotency key) beside a new one, in one
    // group: the re-sent one's create always conflicts; the new one must still be queued.
    const started = performance.now();
    const [, fresh] = await Promise.all([queue({ ...(requests[9] as AcquireRequest) }), queue(k.request())]);
    expect(await Promise.race([fresh.answer, Promise.resolve("queued")])).toBe("queued");
    expect(performance.now() - started).toBeLessThan(60_000);
  } finally {
    await fixture.close().catch(() => undefined);
  }
}, 120_000);
