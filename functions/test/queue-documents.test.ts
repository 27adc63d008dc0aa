/**
 * The key's queue as documents of their own (waiter-document.ts) and each write's marker as
 * a document of its own (markers.ts), on the emulator: a re-sent commit finds its answer
 * however many writes came after it, a key written in the old format (waiters inside the
 * key document) is served and moved out by its next write, and a queue longer than the old
 * bound of 500 is served page by page.
 */
import type { Firestore, WriteBatch } from "@google-cloud/firestore";
import { type AcquireRequest, newToken } from "@holdfast/shared";
import { keyHandle, uniqueKey } from "@holdfast/shared/contract";
import { afterAll, expect, it } from "vitest";
import { runAcquire } from "../src/firestore/acquire.ts";
import { createFirestoreBackend } from "../src/firestore/backend.ts";
import { createContext } from "../src/firestore/context.ts";
import { runRelease } from "../src/firestore/release.ts";
import { firestoreFixture, stopSharedEmulator } from "./fixture.ts";

afterAll(stopSharedEmulator, 30_000);

/**
 * A client whose first commit lands and then, as if its answer had been lost and the
 * client had re-sent it, fails its precondition, after `meanwhile` ran (other writes).
 */
function losingFirstAnswer(firestore: Firestore, meanwhile: () => Promise<void>): Firestore {
  let lost = false;
  return new Proxy(firestore, {
    get(target, property, receiver) {
      if (property !== "batch") return Reflect.get(target, property, receiver);
      return () => {
        const batch = target.batch();
        return new Proxy(batch, {
          get(inner, name, innerReceiver) {
            if (name !== "commit" || lost) return Reflect.get(inner, name, innerReceiver);
            return async () => {
              lost = true;
              await (inner as WriteBatch).commit();
              await meanwhile();
              throw Object.assign(new Error("9 FAILED_PRECONDITION: the re-sent commit found the document changed"), {
                code: 9,
              });
            };
          },
        });
      };
    },
  });
}

it("answers a release whose answer was lost as released, after more than 16 other writes", async () => {
  const fixture = await firestoreFixture();
  try {
    const k = await keyHandle("t", uniqueKey("lost-answer"));
    const held = await fixture.backend.acquire(k.request({ ttlMs: 60_000 }));
    if (!held.ok) throw new Error("not granted");
    // 24 writes on the same key land between the release's commit and its re-send.
    const others = async () => {
      for (let i = 0; i < 12; i++) {
        const grant = await fixture.backend.acquire(k.request({ mode: "shared", limit: null }));
        if (grant.ok) await fixture.backend.release(k.ref(grant.token));
      }
    };
    const faulty = createFirestoreBackend({
      firestore: losingFirstAnswer(fixture.firestore, others),
      collection: fixture.collection,
    });
    expect(await faulty.release(k.ref(held.token))).toMatchObject({ ok: true });
    expect(await fixture.backend.release(k.ref(held.token))).toMatchObject({ ok: false });
    expect((await fixture.backend.lookup(k.lookupRef)).fence).toBe(held.fence + 12);
  } finally {
    await fixture.close();
  }
}, 60_000);

it("serves a key written in the old format, and moves its waiters into documents on the next write", async () => {
  const fixture = await firestoreFixture();
  try {
    const k = await keyHandle("t", uniqueKey("old-format"));
    const now = Date.now();
    const waiter = (token: string, seq: number) => ({
      token,
      mode: "exclusive",
      permits: 1,
      limit: null,
      ttlMs: 30_000,
      priority: 0,
      seq,
      callers: { [token]: now + 120_000 },
    });
    const doc = fixture.firestore.collection(fixture.collection).doc(`k${k.keyId}`);
    await doc.set({
      tenant: "t",
      key: k.key,
      fence: 7,
      limit: null,
      holders: [
        { token: "old-holder", mode: "exclusive", permits: 1, fence: 7, acquiredAtMs: now, expiresAtMs: now + 60_000 },
      ],
      waiters: [waiter("first", 1), waiter("second", 2)],
      queueSeq: 2,
      posted: [],
      ops: [{ id: "x", result: { ok: true }, atMs: now }],
    });
    // A newcomer queues behind the old format's waiters.
    const ctx = createContext({ firestore: fixture.firestore, collection: fixture.collection });
    const newcomer = k.request();
    expect(await runAcquire(ctx, newcomer, 60_000)).toMatchObject({ queued: true, rank: 2 });
    const moved = (await doc.get()).data() ?? {};
    expect(moved.waiters).toBeUndefined();
    expect(moved.ops).toBeUndefined();
    expect(moved.waiting).toBe(3);
    const queued = await ctx.waitersOf(k.keyId).orderBy("order").get();
    expect(queued.docs.map((d) => d.get("token"))).toEqual(["first", "second", newcomer.token]);

    // Each release hands the key to the next in the old order.
    expect(await runRelease(ctx, k.ref("old-holder"))).toMatchObject({ ok: true });
    expect((await fixture.backend.lookup(k.lookupRef)).fence).toBe(8);
    const first = (await ctx.waitersOf(k.keyId).doc("wfirst").get()).data();
    expect(first?.outcome).toMatchObject({ ok: true, token: "first", fence: 8 });
    expect(first?.order).toBeUndefined();
    expect(await runRelease(ctx, k.ref("first"))).toMatchObject({ ok: true });
    expect(await runRelease(ctx, k.ref("second"))).toMatchObject({ ok: true });
    const owns = await fixture.backend.owns(k.ref(newcomer.token));
    expect(owns).toMatchObject({ owned: true });
    expect((await doc.get()).get("waiting")).toBe(0);
  } finally {
    await fixture.close();
  }
}, 60_000);

it("queues past the old bound of 500 and lets every reader in that the holders bound allows, in order", async () => {
  const fixture = await firestoreFixture();
  try {
    const k = await keyHandle("t", uniqueKey("long-queue"));
    const ctx = createContext({ firestore: fixture.firestore, collection: fixture.collection });
    const writer = await runAcquire(ctx, k.request({ ttlMs: 120_000 }), 0);
    if (writer.queued || !writer.result.ok) throw new Error("not granted");
    const readers: AcquireRequest[] = [];
    for (let i = 0; i < 520; i++) {
      const reader = k.request({ mode: "shared", limit: null, ttlMs: 120_000 });
      readers.push(reader);
      expect((await runAcquire(ctx, reader, 300_000)).queued).toBe(true);
    }
    expect(await runRelease(ctx, k.ref(writer.result.token))).toMatchObject({ ok: true });
    // The holders bound (500) stops the release; the 20 behind stay queued, in order.
    const view = await fixture.backend.lookup(k.lookupRef);
    expect(view.holders).toHaveLength(500);
    const left = await ctx.waitersOf(k.keyId).orderBy("order").get();
    expect(left.docs.map((d) => d.get("token"))).toEqual(readers.slice(500).map((r) => r.token));
    expect((await ctx.docOf(k.keyId).get()).get("waiting")).toBe(20);
    expect(newToken()).not.toBe("");
  } finally {
    await fixture.close();
  }
}, 120_000);
