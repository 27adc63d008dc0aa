/**
 * The backend contract: SPEC §2 and §5, run unchanged against every Backend.
 * Time-dependent cases use the store's real clock with short TTLs, so the same suite
 * runs against stores whose clock a test cannot move.
 */
import { describe, expect, it } from "vitest";
import type { Backend } from "../backend.ts";
import type { Grant } from "../model.ts";
import { keyHandle, type MakeBackend, sleep, uniqueKey, useBackend } from "./helpers.ts";
import { runContention } from "./ledger.ts";

export function runBackendContract(name: string, make: MakeBackend): void {
  describe(`backend contract: ${name}`, () => {
    let backend!: Backend;
    useBackend(make, (opened) => {
      backend = opened;
    });

    const granted = async (promise: Promise<unknown>): Promise<Grant> => {
      const result = await promise;
      expect(result).toMatchObject({ ok: true });
      return result as Grant;
    };

    describe("exclusive locks", () => {
      // R5 (retryAtMs: the blocker's expiry), R7
      it("grants a free key and refuses a held one until it is released", async () => {
        const k = await keyHandle("t1", uniqueKey("exclusive"));
        const first = await granted(backend.acquire(k.request({ ttlMs: 5_000 })));
        expect(first.expiresAtMs - first.acquiredAtMs).toBe(5_000);
        const second = await backend.acquire(k.request());
        expect(second).toMatchObject({ ok: false, reason: "locked" });
        if (!second.ok && second.reason === "locked") expect(second.retryAtMs).toBe(first.expiresAtMs);
        expect(await backend.release(k.ref(first.token))).toMatchObject({ ok: true });
        expect(await backend.release(k.ref(first.token))).toMatchObject({ ok: false });
        await granted(backend.acquire(k.request()));
      });

      // R6, R2 (an expiry never touches the fence)
      it("issues strictly increasing fences across release and expiry", async () => {
        const k = await keyHandle("t1", uniqueKey("fences"));
        const fences: number[] = [];
        for (let i = 0; i < 3; i++) {
          const grant = await granted(backend.acquire(k.request()));
          fences.push(grant.fence);
          await backend.release(k.ref(grant.token));
        }
        const short = await granted(backend.acquire(k.request({ ttlMs: 100 })));
        fences.push(short.fence);
        await sleep(180);
        const after = await granted(backend.acquire(k.request()));
        fences.push(after.fence);
        for (let i = 1; i < fences.length; i++) expect(fences[i]).toBe((fences[i - 1] ?? 0) + 1);
        expect((await backend.lookup(k.lookupRef)).fence).toBe(after.fence);
      });

      it("keeps fences per key: another key starts its own sequence", async () => {
        const a = await keyHandle("t1", uniqueKey("seq-a"));
        const b = await keyHandle("t1", uniqueKey("seq-b"));
        await granted(backend.acquire(a.request()));
        const onB = await granted(backend.acquire(b.request()));
        expect(onB.fence).toBe(1);
      });

      // R2, R7
      it("lets an expired grant be neither extended nor released, and grants the key anew", async () => {
        const k = await keyHandle("t1", uniqueKey("expiry"));
        const old = await granted(backend.acquire(k.request({ ttlMs: 500 })));
        expect(await backend.owns(k.ref(old.token))).toMatchObject({ owned: true });
        await sleep(600);
        expect(await backend.owns(k.ref(old.token))).toMatchObject({ owned: false });
        expect(await backend.extend(k.ref(old.token), 5_000)).toMatchObject({ ok: false });
        expect(await backend.release(k.ref(old.token))).toMatchObject({ ok: false });
        const next = await granted(backend.acquire(k.request()));
        expect(next.fence).toBeGreaterThan(old.fence);
        expect(await backend.extend(k.ref(old.token), 5_000)).toMatchObject({ ok: false });
        expect(await backend.release(k.ref(old.token))).toMatchObject({ ok: false });
        expect(await backend.owns(k.ref(next.token))).toMatchObject({ owned: true });
      });

      // R7, R1
      it("extends a live grant to now + ttl in the store's clock", async () => {
        const k = await keyHandle("t1", uniqueKey("extend"));
        const grant = await granted(backend.acquire(k.request({ ttlMs: 800 })));
        const extended = await backend.extend(k.ref(grant.token), 20_000);
        expect(extended.ok).toBe(true);
        if (extended.ok) expect(extended.expiresAtMs).toBe(extended.serverTimeMs + 20_000);
        await sleep(1_000);
        const owns = await backend.owns(k.ref(grant.token));
        expect(owns).toMatchObject({ owned: true, key: k.key });
        if (owns.owned) expect(owns.holder.fence).toBe(grant.fence);
        expect(await backend.acquire(k.request())).toMatchObject({ ok: false, reason: "locked" });
      });

      // R7
      it("answers owns/extend/release for an unknown lockId with not-held", async () => {
        const k = await keyHandle("t1", uniqueKey("unknown"));
        const ref = k.ref("AAAAAAAAAAAAAAAAAAAAAA");
        expect(await backend.owns(ref)).toMatchObject({ owned: false });
        expect(await backend.extend(ref, 1_000)).toMatchObject({ ok: false });
        expect(await backend.release(ref)).toMatchObject({ ok: false });
      });
    });

    describe("shared locks and semaphores", () => {
      // R5
      it("shares an unlimited read lock and keeps writers out until every reader leaves", async () => {
        const k = await keyHandle("t1", uniqueKey("rw"));
        const readers = [];
        for (let i = 0; i < 5; i++) readers.push(await granted(backend.acquire(k.request({ mode: "shared" }))));
        expect(await backend.acquire(k.request())).toMatchObject({ ok: false, reason: "locked" });
        for (const reader of readers.slice(0, 4)) await backend.release(k.ref(reader.token));
        expect(await backend.acquire(k.request())).toMatchObject({ ok: false, reason: "locked" });
        await backend.release(k.ref(readers[4]?.token ?? ""));
        const writer = await granted(backend.acquire(k.request()));
        expect(await backend.acquire(k.request({ mode: "shared" }))).toMatchObject({ ok: false, reason: "locked" });
        expect(new Set([...readers.map((r) => r.fence), writer.fence]).size).toBe(6);
      });

      // R5
      it("counts permits against the limit", async () => {
        const k = await keyHandle("t1", uniqueKey("semaphore"));
        const shared = { mode: "shared" as const, limit: 3 };
        const two = await granted(backend.acquire(k.request({ ...shared, permits: 2 })));
        await granted(backend.acquire(k.request({ ...shared, permits: 1 })));
        expect(await backend.acquire(k.request({ ...shared, permits: 1 }))).toMatchObject({ reason: "locked" });
        await backend.release(k.ref(two.token));
        await granted(backend.acquire(k.request({ ...shared, permits: 2 })));
        const view = await backend.lookup(k.lookupRef);
        expect(view.limit).toBe(3);
        expect(view.holders.reduce((sum, h) => sum + h.permits, 0)).toBe(3);
      });

      // R4, R6 (the limit set by a grant to a free key)
      it("rejects a limit that disagrees with the holders' limit, and accepts a new one once free", async () => {
        const k = await keyHandle("t1", uniqueKey("limit"));
        const grant = await granted(backend.acquire(k.request({ mode: "shared", limit: 2 })));
        expect(await backend.acquire(k.request({ mode: "shared", limit: 5 }))).toMatchObject({
          ok: false,
          reason: "limit-mismatch",
          limit: 2,
        });
        expect(await backend.acquire(k.request({ mode: "shared" }))).toMatchObject({ reason: "limit-mismatch" });
        await backend.release(k.ref(grant.token));
        await granted(backend.acquire(k.request({ mode: "shared", limit: 5 })));
      });
    });

    describe("idempotency", () => {
      // R3
      it("returns the same grant to a retried request and never a second one", async () => {
        const k = await keyHandle("t1", uniqueKey("idem"));
        const first = await granted(backend.acquire(k.request({ idempotencyKey: "req-1" })));
        const retry = await granted(backend.acquire(k.request({ idempotencyKey: "req-1" })));
        expect(retry).toMatchObject({ token: first.token, fence: first.fence, expiresAtMs: first.expiresAtMs });
        expect((await backend.lookup(k.lookupRef)).holders).toHaveLength(1);
        expect(await backend.acquire(k.request({ idempotencyKey: "req-2" }))).toMatchObject({ reason: "locked" });
      });

      // R3
      it("counts the TTL as part of the request: a retry with another ttlMs is a mismatch", async () => {
        const k = await keyHandle("t1", uniqueKey("idem-ttl"));
        const first = await granted(backend.acquire(k.request({ ttlMs: 30_000, idempotencyKey: "t" })));
        expect(await backend.acquire(k.request({ ttlMs: 60_000, idempotencyKey: "t" }))).toMatchObject({
          ok: false,
          reason: "idempotency-mismatch",
        });
        // The same TTL is the same request, also after an extend changed the expiry.
        expect(await backend.extend(k.ref(first.token), 45_000)).toMatchObject({ ok: true });
        expect(await backend.acquire(k.request({ ttlMs: 30_000, idempotencyKey: "t" }))).toMatchObject({
          ok: true,
          token: first.token,
        });
      });

      // R3
      it("refuses an idempotency key reused with other parameters", async () => {
        const k = await keyHandle("t1", uniqueKey("idem-mismatch"));
        await granted(backend.acquire(k.request({ mode: "shared", idempotencyKey: "r" })));
        expect(await backend.acquire(k.request({ mode: "shared", permits: 2, idempotencyKey: "r" }))).toMatchObject({
          ok: false,
          reason: "idempotency-mismatch",
        });
      });

      it("gives concurrent retries of one request a single grant", async () => {
        const k = await keyHandle("t1", uniqueKey("idem-race"));
        const results = await Promise.all(
          Array.from({ length: 8 }, () => backend.acquire(k.request({ mode: "shared", idempotencyKey: "same" }))),
        );
        const tokens = new Set(results.map((r) => (r.ok ? r.token : "refused")));
        expect(tokens.size).toBe(1);
        expect([...tokens][0]).not.toBe("refused");
        expect((await backend.lookup(k.lookupRef)).holders).toHaveLength(1);
      });
    });

    describe("tenants and lookup", () => {
      it("keeps tenants apart: same key, separate locks, foreign lockIds are not honoured", async () => {
        const key = uniqueKey("tenants");
        const a = await keyHandle("tenant-a", key);
        const b = await keyHandle("tenant-b", key);
        const grantA = await granted(backend.acquire(a.request()));
        const grantB = await granted(backend.acquire(b.request()));
        expect(grantB.fence).toBe(1);
        expect(await backend.release(a.ref(grantA.token, "tenant-b"))).toMatchObject({ ok: false });
        expect(await backend.owns(a.ref(grantA.token, "tenant-b"))).toMatchObject({ owned: false });
        expect(await backend.extend(a.ref(grantA.token, "tenant-b"), 1_000)).toMatchObject({ ok: false });
        expect(await backend.owns(a.ref(grantA.token))).toMatchObject({ owned: true });
      });

      // R7, R2
      it("reports live holders, the fence and the store time", async () => {
        const k = await keyHandle("t1", uniqueKey("lookup"));
        const empty = await backend.lookup(k.lookupRef);
        expect(empty).toMatchObject({ fence: 0, holders: [], limit: null });
        const grant = await granted(backend.acquire(k.request({ ttlMs: 500 })));
        const view = await backend.lookup(k.lookupRef);
        expect(view.holders).toEqual([
          {
            token: grant.token,
            mode: "exclusive",
            permits: 1,
            fence: grant.fence,
            acquiredAtMs: grant.acquiredAtMs,
            expiresAtMs: grant.expiresAtMs,
          },
        ]);
        await sleep(600);
        expect(await backend.lookup(k.lookupRef)).toMatchObject({ holders: [], fence: grant.fence });
      });

      // R1
      it("reads its clock from the store, close to this machine's clock", async () => {
        const before = Date.now();
        const serverTime = await backend.time();
        expect(Math.abs(serverTime - before)).toBeLessThan(5_000);
      });
    });

    describe("key content", () => {
      it("keeps every key byte for byte: NUL, every control character, 512 bytes of UTF-8", async () => {
        const stem = uniqueKey("bytes");
        const controls = Array.from({ length: 32 }, (_, c) => String.fromCharCode(c)).join("");
        const c1 = Array.from({ length: 32 }, (_, c) => String.fromCharCode(0x80 + c)).join("");
        const long = `${stem}:`.padEnd(512 - 4 * 16, "x") + "\u{1F512}".repeat(16);
        expect(new TextEncoder().encode(long).byteLength).toBe(512);
        // Keys that an escaping store could confuse with each other must stay apart.
        const keys = [
          `${stem}:a\u0000b`,
          `${stem}:a\\0b`,
          `${stem}:a\u0000`,
          `${stem}:a`,
          `\uffff${stem}:a\\0b`,
          `\uffff${stem}:a\u0000b`,
          `${stem}:${controls}\u007f${c1}`,
          long,
        ];
        const handles = await Promise.all(keys.map((key) => keyHandle("t1", key)));
        const grants: Grant[] = [];
        for (const k of handles) {
          const grant = await granted(backend.acquire(k.request()));
          expect(grant.fence, JSON.stringify(k.key)).toBe(1);
          grants.push(grant);
        }
        for (const [i, k] of handles.entries()) {
          const grant = grants[i] as Grant;
          expect(await backend.acquire(k.request()), JSON.stringify(k.key)).toMatchObject({ reason: "locked" });
          const owned = await backend.owns(k.ref(grant.token));
          expect(owned.owned && owned.key, JSON.stringify(k.key)).toBe(k.key);
          expect((await backend.lookup(k.lookupRef)).holders).toHaveLength(1);
          expect(await backend.release(k.ref(grant.token))).toMatchObject({ ok: true });
        }
      });
    });

    describe("under contention", () => {
      // R5, R6
      it("never overlaps exclusive sections and keeps fences strictly increasing", async () => {
        const report = await runContention(backend, { workers: 16, keys: 3, grantsPerWorker: 8, holdMs: 2 });
        expect(report.grants).toBe(16 * 8);
        expect(report).toMatchObject({ clientOverlaps: 0, storeOverlaps: 0, fenceViolations: 0, lostReleases: 0 });
      }, 60_000);

      it("never exceeds a semaphore's limit", async () => {
        const report = await runContention(backend, {
          workers: 12,
          keys: 2,
          grantsPerWorker: 6,
          holdMs: 3,
          mode: "shared",
          limit: 3,
          permits: 1,
        });
        expect(report.grants).toBe(12 * 6);
        expect(report).toMatchObject({ clientOverlaps: 0, storeOverlaps: 0, fenceViolations: 0, lostReleases: 0 });
      }, 60_000);
    });
  });
}
