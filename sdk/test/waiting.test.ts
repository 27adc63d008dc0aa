/**
 * Server-side waiting, re-issue after the server's cap, Retry-After, the SDK's own
 * retry after a lost answer (idempotency), and cancellation — against the real app.
 */
import { memoryRateLimiter } from "@holdfast/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, isLockError } from "../src/index.ts";
import { startTestServer, type TestServer, TOKEN } from "./support/server.ts";

let server: TestServer;
let client: ReturnType<typeof createClient>;
beforeAll(async () => {
  // A short wait cap, so that re-issuing after the cap is exercised quickly.
  server = await startTestServer({ waitCapMs: 300 });
  client = createClient({ url: server.url, token: TOKEN });
});
afterAll(() => server.close());

let n = 0;
const freshKey = () => `waiting-test:${++n}`;
const acquires = () => server.requests.filter((r) => r === "POST /v1/locks/acquire").length;

describe("server-side waiting", () => {
  it("is granted the moment the holder releases", async () => {
    const key = freshKey();
    const holder = await client.acquire({ key });
    if (!holder.ok) throw new Error("not granted");
    const waiting = client.acquire({ key, waitMs: 10_000 });
    setTimeout(() => void holder.release(), 100);
    const lock = await waiting;
    expect(lock.ok && lock.fence > holder.fence).toBe(true);
    await lock[Symbol.asyncDispose]();
  });

  it("re-issues when the server's cap ends before the caller's waitMs", async () => {
    const key = freshKey();
    const holder = await client.acquire({ key, ttlMs: 60_000 });
    if (!holder.ok) throw new Error("not granted");
    const before = acquires();
    const waiting = client.acquire({ key, waitMs: 10_000 });
    // The server answers 409 every 300 ms; release after a few of those.
    setTimeout(() => void holder.release(), 1000);
    const lock = await waiting;
    expect(lock.ok).toBe(true);
    expect(acquires() - before).toBeGreaterThanOrEqual(2);
    await lock[Symbol.asyncDispose]();
  });

  it("answers not-locked when waitMs runs out", async () => {
    const key = freshKey();
    const holder = await client.acquire({ key });
    const result = await client.acquire({ key, waitMs: 200 });
    expect(result).toMatchObject({ ok: false, reason: "locked" });
    await holder[Symbol.asyncDispose]();
  });
});

describe("Retry-After", () => {
  it("waits out a 429 within the caller's waitMs, and raises RateLimited beyond it", async () => {
    const limited = await startTestServer({ rateLimit: memoryRateLimiter({ perSecond: 2, burst: 1 }) });
    try {
      const c = createClient({ url: limited.url, token: TOKEN });
      const first = await c.acquire({ key: "a" });
      expect(first.ok).toBe(true);
      const refused = await c.acquire({ key: "b" }).catch((e: unknown) => e);
      expect(isLockError(refused, "RateLimited")).toBe(true);
      expect((refused as { retryAfterMs: number }).retryAfterMs).toBe(1000);
      const started = performance.now();
      const patient = await c.acquire({ key: "b", waitMs: 5000 });
      expect(patient.ok).toBe(true);
      expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      await limited.close();
    }
  });
});

describe("the SDK's own retry after a lost answer", () => {
  it("returns the grant the lost answer carried, never a second grant", async () => {
    const key = freshKey();
    let lost = 0;
    // Lets the first acquire reach the server, then loses its answer.
    const lossy: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (String(input).endsWith("/acquire") && lost++ === 0) throw new TypeError("connection reset");
      return response;
    };
    const c = createClient({ url: server.url, token: TOKEN, fetch: lossy });
    const lock = await c.acquire({ key, ttlMs: 10_000 });
    expect(lost).toBe(2);
    expect(lock.ok).toBe(true);
    const info = await client.getByKey({ key });
    expect(info.holders).toHaveLength(1);
    expect(info.holders[0]?.lockId).toBe(lock.ok && lock.lockId);
    await lock[Symbol.asyncDispose]();
  });

  it("sends one idempotency key per logical acquire, and the caller's when given", async () => {
    const bodies: { idempotencyKey: string }[] = [];
    const spy: typeof fetch = (input, init) => {
      if (String(input).endsWith("/acquire")) bodies.push(JSON.parse(String(init?.body)));
      return fetch(input, init);
    };
    const c = createClient({ url: server.url, token: TOKEN, fetch: spy });
    const key = freshKey();
    const holder = await c.acquire({ key });
    await c.acquire({ key, waitMs: 700 }); // re-issued after the 300 ms cap
    const explicit = await c.acquire({ key: freshKey(), idempotencyKey: "order-42" });
    const replay = await c.acquire({ key: explicit.ok ? explicit.key : "", idempotencyKey: "order-42" });
    expect(replay.ok && explicit.ok && replay.lockId === explicit.lockId).toBe(true);
    const keys = bodies.map((b) => b.idempotencyKey);
    expect(keys[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(keys.slice(1, -2)).size).toBe(1);
    expect(keys.slice(1, -2).length).toBeGreaterThanOrEqual(2);
    expect(keys[0]).not.toBe(keys[1]);
    expect(keys.slice(-2)).toEqual(["order-42", "order-42"]);
    for (const lock of [holder, explicit]) await lock[Symbol.asyncDispose]();
  });
});

describe("cancellation", () => {
  it("aborts an in-flight waiting acquire at once", async () => {
    const key = freshKey();
    const holder = await client.acquire({ key });
    const controller = new AbortController();
    const waiting = client.acquire({ key, waitMs: 30_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error("user gave up")), 100);
    const error = await waiting.catch((e: unknown) => e);
    expect(isLockError(error, "Aborted")).toBe(true);
    expect((error as Error).cause).toEqual(new Error("user gave up"));
    await holder[Symbol.asyncDispose]();
  });

  it("aborts the backoff sleep between attempts", async () => {
    const key = freshKey();
    const holder = await client.acquire({ key });
    // A fetch that answers "locked" at once, as a server without waiting would, so the SDK backs off.
    const impatient: typeof fetch = (input, init) => {
      const body = JSON.parse(String(init?.body));
      return fetch(input, { ...init, body: JSON.stringify({ ...body, waitMs: 0 }) });
    };
    const c = createClient({ url: server.url, token: TOKEN, fetch: impatient });
    const controller = new AbortController();
    const started = performance.now();
    const waiting = c.acquire({
      key,
      waitMs: 60_000,
      retry: { retryDelayMs: 10_000, jitter: "none" },
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 200);
    expect(isLockError(await waiting.catch((e: unknown) => e), "Aborted")).toBe(true);
    expect(performance.now() - started).toBeLessThan(5_000);
    await holder[Symbol.asyncDispose]();
  });

  it("rejects at once when the signal is already aborted", async () => {
    const error = await client.acquire({ key: freshKey(), signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(isLockError(error, "Aborted")).toBe(true);
  });

  it("renews a grant that arrived after a wait longer than its TTL, instead of handing out a dead lease", async () => {
    const key = "waiting:renewed";
    const holder = await client.acquire({ key });
    if (!holder.ok) throw new Error("not granted");
    const waiting = client.acquire({ key, ttlMs: 1_000, waitMs: 10_000, autoExtend: true });
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // longer than the waiter's TTL
    await holder.release();
    const lock = await waiting;
    if (!lock.ok) throw new Error("not granted");
    expect(lock.signal.aborted).toBe(false);
    expect(await client.owns({ lockId: lock.lockId })).toMatchObject({ owned: true });
    await lock.release();
  });
});
