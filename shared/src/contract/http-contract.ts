/**
 * The HTTP contract: SPEC §3 through `app.request()` over any Backend — response
 * shapes, auth and scopes, tenant isolation, server-side waiting, idempotency, CORS.
 */
import { describe, expect, it } from "vitest";
import { staticTokens } from "../app/auth/auth.ts";
import { createApp } from "../app/create-app.ts";
import { LOCK_ID_PATTERN } from "../keys.ts";
import { type MakeBackend, sleep, uniqueKey, useBackend } from "./helpers.ts";

export const CONTRACT_TOKENS = [
  { token: "token-a", tenant: "tenant-a", scopes: ["lock", "read"] as const },
  { token: "token-b", tenant: "tenant-b", scopes: ["lock", "read"] as const },
  { token: "token-a-read", tenant: "tenant-a", scopes: ["read"] as const },
  { token: "token-a-admin", tenant: "tenant-a", scopes: ["admin"] as const },
];

type App = ReturnType<typeof createApp>;

export function runHttpContract(name: string, make: MakeBackend): void {
  describe(`HTTP contract: ${name}`, () => {
    let app!: App;
    useBackend(make, (backend) => {
      app = createApp({
        backend,
        auth: staticTokens(CONTRACT_TOKENS.map((t) => ({ ...t, scopes: [...t.scopes] }))),
        corsOrigins: ["https://app.example"],
      });
    });

    async function call(path: string, body: unknown, token = "token-a", headers: Record<string, string> = {}) {
      const response = await app.request(path, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown>, response };
    }

    it("acquires, contends, extends, checks ownership and releases", async () => {
      const key = uniqueKey("http");
      const before = Date.now();
      const grant = await call("/v1/locks/acquire", { key, ttlMs: 5_000 });
      expect(grant.status).toBe(200);
      expect(grant.body).toEqual({
        ok: true,
        lockId: expect.stringMatching(LOCK_ID_PATTERN),
        fence: "000000000000001",
        expiresAtMs: expect.any(Number),
        serverTimeMs: expect.any(Number),
      });
      expect(Math.abs((grant.body.serverTimeMs as number) - before)).toBeLessThan(5_000);
      const lockId = grant.body.lockId;

      expect(await call("/v1/locks/acquire", { key })).toMatchObject({
        status: 409,
        body: { ok: false, reason: "locked", serverTimeMs: expect.any(Number) },
      });
      const extended = await call("/v1/locks/extend", { lockId, ttlMs: 60_000 });
      expect(extended).toMatchObject({ status: 200, body: { ok: true, expiresAtMs: expect.any(Number) } });
      expect(await call("/v1/locks/owns", { lockId })).toMatchObject({
        status: 200,
        body: { ok: true, owned: true, key, fence: "000000000000001", mode: "exclusive" },
      });
      expect(await call("/v1/locks/release", { lockId })).toMatchObject({ status: 200, body: { ok: true } });
      expect(await call("/v1/locks/release", { lockId })).toMatchObject({ status: 404, body: { ok: false } });
      expect(await call("/v1/locks/extend", { lockId, ttlMs: 1_000 })).toMatchObject({ status: 404 });
      expect(await call("/v1/locks/owns", { lockId })).toMatchObject({ status: 200, body: { ok: true, owned: false } });
      const again = await call("/v1/locks/acquire", { key });
      expect(again.body.fence).toBe("000000000000002");
    });

    it("normalises keys to NFC: composed and decomposed spellings are one key", async () => {
      const stem = uniqueKey("nfc");
      expect((await call("/v1/locks/acquire", { key: `${stem}:caf\u00e9` })).status).toBe(200);
      expect((await call("/v1/locks/acquire", { key: `${stem}:cafe\u0301` })).status).toBe(409);
    });

    it("takes any key the spec allows, NUL and control characters included, and gives it back unchanged", async () => {
      const key = `${uniqueKey("http-bytes")}:\u0000\u0001\u001f\u007f\u0085\\0`;
      const grant = await call("/v1/locks/acquire", { key });
      expect(grant.status).toBe(200);
      expect((await call("/v1/locks/acquire", { key })).status).toBe(409);
      expect((await call("/v1/locks/acquire", { key: key.replace("\u0000", "") })).status).toBe(200);
      const owns = await call("/v1/locks/owns", { lockId: grant.body.lockId });
      expect(owns.body).toMatchObject({ owned: true, key });
      expect((await call("/v1/locks/lookup", { key })).body).toMatchObject({ locked: true });
      expect((await call("/v1/locks/release", { lockId: grant.body.lockId })).status).toBe(200);
    });

    it("serves semaphores and read-write locks", async () => {
      const key = uniqueKey("http-sem");
      expect((await call("/v1/locks/acquire", { key, mode: "shared", limit: 2 })).status).toBe(200);
      expect((await call("/v1/locks/acquire", { key, mode: "shared", limit: 2 })).status).toBe(200);
      expect((await call("/v1/locks/acquire", { key, mode: "shared", limit: 2 })).status).toBe(409);
      const mismatch = await call("/v1/locks/acquire", { key, mode: "shared", limit: 3 });
      expect(mismatch).toMatchObject({ status: 400, body: { ok: false, error: { code: "InvalidArgument" } } });
      const lookup = await call("/v1/locks/lookup", { key });
      expect(lookup.body).toMatchObject({ ok: true, locked: true, limit: 2, fence: "000000000000002" });
    });

    it("returns the same grant for a retried idempotency key (body or header)", async () => {
      const key = uniqueKey("http-idem");
      const first = await call("/v1/locks/acquire", { key, idempotencyKey: "order-7" });
      const retry = await call("/v1/locks/acquire", { key, idempotencyKey: "order-7" });
      expect(retry.status).toBe(200);
      expect(retry.body.lockId).toBe(first.body.lockId);
      expect(retry.body.fence).toBe(first.body.fence);
      const other = uniqueKey("http-idem-header");
      const viaHeader = await call("/v1/locks/acquire", { key: other }, "token-a", { "idempotency-key": "h-1" });
      const viaHeaderRetry = await call("/v1/locks/acquire", { key: other }, "token-a", { "idempotency-key": "h-1" });
      expect(viaHeaderRetry.body.lockId).toBe(viaHeader.body.lockId);
    });

    it("waits server-side for a release, and answers 409 when waitMs elapses", async () => {
      const key = uniqueKey("http-wait");
      const holder = await call("/v1/locks/acquire", { key });
      const started = Date.now();
      const timedOut = await call("/v1/locks/acquire", { key, waitMs: 150 });
      expect(timedOut).toMatchObject({ status: 409, body: { ok: false, reason: "locked" } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      const waiter = call("/v1/locks/acquire", { key, waitMs: 5_000 });
      await sleep(100);
      await call("/v1/locks/release", { lockId: holder.body.lockId });
      const served = await waiter;
      expect(served).toMatchObject({ status: 200, body: { ok: true, fence: "000000000000002" } });
    });

    it("waits for an expiry too, without a release", async () => {
      const key = uniqueKey("http-wait-expiry");
      await call("/v1/locks/acquire", { key, ttlMs: 200 });
      const served = await call("/v1/locks/acquire", { key, waitMs: 3_000 });
      expect(served).toMatchObject({ status: 200, body: { fence: "000000000000002" } });
    });

    it("authenticates every lock route and enforces scopes", async () => {
      const key = uniqueKey("http-auth");
      for (const path of ["acquire", "release", "extend", "owns", "lookup"]) {
        const missing = await app.request(`/v1/locks/${path}`, { method: "POST", body: "{}" });
        expect(missing.status).toBe(401);
        expect(await missing.json()).toMatchObject({ ok: false, error: { code: "AuthFailed" } });
        expect((await call(`/v1/locks/${path}`, { key }, "wrong-token")).status).toBe(401);
      }
      expect(await call("/v1/locks/acquire", { key }, "token-a-read")).toMatchObject({
        status: 403,
        body: { error: { code: "AuthFailed" } },
      });
      expect((await call("/v1/locks/lookup", { key }, "token-a-read")).status).toBe(200);
      for (const path of ["/health", "/v1/time", "/openapi.json", "/docs"]) {
        expect((await app.request(path)).status).toBe(200);
      }
      const document = (await (await app.request("/openapi.json")).json()) as { openapi: string; paths: object };
      expect(document.openapi).toBe("3.1.0");
      expect(Object.keys(document.paths)).toEqual(
        expect.arrayContaining(["/v1/locks/acquire", "/v1/locks/release", "/v1/locks/lookup", "/v1/time"]),
      );
    });

    it("isolates tenants and shows raw lockIds only to admins", async () => {
      const key = uniqueKey("http-tenant");
      const a = await call("/v1/locks/acquire", { key });
      const b = await call("/v1/locks/acquire", { key }, "token-b");
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(await call("/v1/locks/release", { lockId: a.body.lockId }, "token-b")).toMatchObject({ status: 404 });
      expect(await call("/v1/locks/owns", { lockId: a.body.lockId }, "token-b")).toMatchObject({
        body: { owned: false },
      });
      const seenByA = await call("/v1/locks/lookup", { key });
      expect(seenByA.body).toMatchObject({ locked: true, fence: "000000000000001" });
      expect(JSON.stringify(seenByA.body)).not.toContain(String(a.body.lockId));
      expect((seenByA.body.holders as object[])[0]).not.toHaveProperty("lockId");
      const seenByAdmin = await call("/v1/locks/lookup", { key }, "token-a-admin");
      expect((seenByAdmin.body.holders as { lockId: string }[])[0]?.lockId).toBe(a.body.lockId);
      expect(await call("/v1/locks/release", { lockId: a.body.lockId })).toMatchObject({ status: 200 });
      expect(await call("/v1/locks/owns", { lockId: b.body.lockId }, "token-b")).toMatchObject({
        body: { owned: true },
      });
    });

    it("rejects bad input with 400 and changes nothing", async () => {
      const key = uniqueKey("http-bad");
      const bad = [
        { key: "" },
        { key: "x".repeat(513) },
        { key: "\ud800" },
        { key, ttlMs: 99 },
        { key, ttlMs: 86_400_001 },
        { key, ttlMs: 1.5 },
        { key, mode: "exclusive", limit: 2 },
        { key, mode: "shared", permits: 3, limit: 2 },
        { key, unknown: true },
        { key, waitMs: -1 },
        { key: 42 },
      ];
      for (const body of bad) {
        const answer = await call("/v1/locks/acquire", body);
        expect(answer.status, JSON.stringify(body)).toBe(400);
        expect(answer.body).toMatchObject({
          ok: false,
          error: { code: "InvalidArgument", message: expect.any(String) },
        });
      }
      expect(await call("/v1/locks/release", { lockId: "not-a-lock-id" })).toMatchObject({ status: 400 });
      expect(await call("/v1/locks/extend", { lockId: "x", ttlMs: 1_000 })).toMatchObject({ status: 400 });
      expect((await call("/v1/locks/lookup", { key })).body).toMatchObject({ locked: false, fence: null });
    });

    it("serves browsers from the CORS allow-list only", async () => {
      const preflight = (origin: string) =>
        app.request("/v1/locks/acquire", {
          method: "OPTIONS",
          headers: {
            origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
          },
        });
      const allowed = await preflight("https://app.example");
      expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
      expect(allowed.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
      const refused = await preflight("https://evil.example");
      expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    });
  });
}
