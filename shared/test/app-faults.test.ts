/** Store faults, quotas and disconnects, as the HTTP layer reports them. */
import { describe, expect, it, vi } from "vitest";
import type { Backend } from "../src/backend.ts";
import { LockError } from "../src/errors.ts";
import { createApp, createMemoryBackend, memoryRateLimiter, staticTokens } from "../src/index.ts";

const auth = staticTokens([{ token: "t", tenant: "x", scopes: ["lock", "read"] }]);
const headers = { authorization: "Bearer t", "content-type": "application/json" };
const acquire = (app: ReturnType<typeof createApp>, body: object, init: RequestInit = {}) =>
  app.request("/v1/locks/acquire", { method: "POST", headers, body: JSON.stringify(body), ...init });

function failingBackend(fail: () => Promise<never>): Backend {
  return { ...createMemoryBackend(), acquire: fail, release: fail, extend: fail, owns: fail, lookup: fail, time: fail };
}

describe("store faults", () => {
  it("reports an unreachable store as 503 ServiceUnavailable", async () => {
    const backend = failingBackend(async () => {
      throw new LockError("ServiceUnavailable", "store unreachable", { cause: new Error("ECONNREFUSED") });
    });
    const app = createApp({ backend, auth });
    const response = await acquire(app, { key: "k" });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      ok: false,
      error: { code: "ServiceUnavailable", message: "store unreachable" },
      serverTimeMs: expect.any(Number),
    });
    expect((await app.request("/health")).status).toBe(503);
  });

  it("reports a store that does not answer in time as 504 NetworkTimeout", async () => {
    const backend = failingBackend(() => new Promise<never>(() => {}));
    const app = createApp({ backend, auth, storeTimeoutMs: 50 });
    const response = await acquire(app, { key: "k" });
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: { code: "NetworkTimeout" } });
  });

  it("reports a bug as 500 Internal without leaking its message, and logs it", async () => {
    const logError = vi.fn();
    const backend = failingBackend(async () => {
      throw new TypeError("secret detail");
    });
    const app = createApp({ backend, auth, logError });
    const response = await acquire(app, { key: "k" });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      ok: false,
      error: { code: "Internal", message: "internal error" },
      serverTimeMs: expect.any(Number),
    });
    expect(logError).toHaveBeenCalledOnce();
  });
});

describe("quotas", () => {
  it("answers 429 RateLimited with Retry-After once a tenant is over its quota", async () => {
    const app = createApp({
      backend: createMemoryBackend(),
      auth,
      rateLimit: memoryRateLimiter({ perSecond: 1, burst: 2 }),
    });
    expect((await acquire(app, { key: "a" })).status).toBe(200);
    expect((await acquire(app, { key: "b" })).status).toBe(200);
    const limited = await acquire(app, { key: "c" });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    expect(await limited.json()).toMatchObject({ error: { code: "RateLimited" } });
  });
});

describe("server-side waiting", () => {
  it("drops a waiter whose client went away, without leaving a grant behind", async () => {
    const backend = createMemoryBackend();
    const app = createApp({ backend, auth });
    const holder = (await (await acquire(app, { key: "w" })).json()) as { lockId: string };
    const client = new AbortController();
    const waiting = Promise.resolve(acquire(app, { key: "w", waitMs: 5_000 }, { signal: client.signal })).catch(
      () => null,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const abortedAt = Date.now();
    client.abort();
    await waiting;
    // It left the queue at once, not when its 5 s ran out.
    expect(Date.now() - abortedAt).toBeLessThan(2_500);
    await app.request("/v1/locks/release", {
      method: "POST",
      headers,
      body: JSON.stringify({ lockId: holder.lockId }),
    });
    const lookup = await app.request("/v1/locks/lookup", {
      method: "POST",
      headers,
      body: JSON.stringify({ key: "w" }),
    });
    expect(await lookup.json()).toMatchObject({ locked: false, fence: "000000000000001" });
  });

  it("caps the wait at the server's limit and then answers 409", async () => {
    const app = createApp({ backend: createMemoryBackend(), auth, waitCapMs: 100 });
    await acquire(app, { key: "cap" });
    const started = Date.now();
    const response = await acquire(app, { key: "cap", waitMs: 60_000 });
    expect(response.status).toBe(409);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
