/**
 * Firestore at sizes real keys reach: a key's document is rewritten whole by every step and
 * Firestore refuses a document over 1 MiB. With the bounds raised past what fits, the step
 * that would pass 1 MiB is refused with CapacityExceeded (the store's own INVALID_ARGUMENT,
 * not an Internal error), and nothing changes.
 */
import { isLockError } from "@holdfast/shared";
import { keyHandle, uniqueKey } from "@holdfast/shared/contract";
import { afterAll, expect, it } from "vitest";
import { firestoreFixture, stopSharedEmulator } from "./fixture.ts";

afterAll(stopSharedEmulator, 30_000);

it("refuses the step that would pass 1 MiB as CapacityExceeded, and keeps every holder", async () => {
  const fixture = await firestoreFixture({ bounds: { holders: 100_000 } });
  try {
    const k = await keyHandle("t", uniqueKey("document-size"));
    // Holders with long idempotency keys, seeded straight into the document, and one more
    // whose key is as long as still fits: the document then sits a few bytes under 1 MiB.
    const now = Date.now();
    const holder = (i: number, keyLength: number) => ({
      token: `seed${i}`,
      mode: "shared",
      permits: 1,
      fence: i + 1,
      acquiredAtMs: now,
      expiresAtMs: now + 600_000,
      idempotencyKey: `${i}:${"x".repeat(keyLength)}`,
    });
    const seeded = Array.from({ length: 900 }, (_, i) => holder(i, 1_000));
    const doc = fixture.firestore.collection(fixture.collection).doc(`k${k.keyId}`);
    const base = { tenant: "t", key: k.key, limit: null, waiters: [], queueSeq: 0, posted: [], ops: [] };
    const fits = (keyLength: number) =>
      doc.set({ ...base, fence: seeded.length + 1, holders: [...seeded, holder(seeded.length, keyLength)] }).then(
        () => true,
        () => false,
      );
    let [low, high] = [0, 200_000];
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (await fits(middle)) low = middle;
      else high = middle - 1;
    }
    expect(await fits(low)).toBe(true);
    const held = seeded.length + 1;

    let refused: unknown;
    await fixture.backend.acquire(k.request({ mode: "shared", limit: null })).catch((error: unknown) => {
      refused = error;
    });
    expect(isLockError(refused)).toBe(true);
    expect(refused).toMatchObject({ code: "CapacityExceeded", limit: "document" });
    const view = await fixture.backend.lookup(k.lookupRef);
    expect(view.holders).toHaveLength(held);
    expect(view.fence).toBe(held);
  } finally {
    await fixture.close();
  }
}, 60_000);
