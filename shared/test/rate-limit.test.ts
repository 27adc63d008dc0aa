/**
 * Issue 11, item 4: per-tenant budgets. One tenant cannot spend another's; budgets are
 * configured per tenant; instances that lease from one shared bucket share the budget;
 * the app answers 429 with Retry-After.
 */
import { describe, expect, it } from "vitest";
import {
  budgetsFromEnv,
  createApp,
  createMemoryBackend,
  DEFAULT_BUDGET,
  leasedRateLimiter,
  memoryRateLimiter,
  staticTokens,
  TokenBucket,
} from "../src/index.ts";

describe("budgets", () => {
  it("reads HOLDFAST_RATE_LIMITS per tenant, with * for the rest and null for unlimited", () => {
    const budgetOf = budgetsFromEnv(
      JSON.stringify({ "*": { perSecond: 10 }, shop: { perSecond: 5, burst: 7 }, ops: null }),
    );
    expect(budgetOf("shop")).toEqual({ perSecond: 5, burst: 7 });
    expect(budgetOf("anyone")).toEqual({ perSecond: 10, burst: 20 });
    expect(budgetOf("ops")).toBeNull();
    expect(budgetsFromEnv(undefined)("anyone")).toEqual(DEFAULT_BUDGET);
    expect(() => budgetsFromEnv("[")).toThrow(/^HOLDFAST_RATE_LIMITS is not valid JSON/);
    expect(() => budgetsFromEnv('{"shop":{"perSecond":0}}')).toThrow(/^HOLDFAST_RATE_LIMITS\.shop\.perSecond/);
    expect(() => budgetsFromEnv('{"shop":{"perSecond":1,"burst":0.5}}')).toThrow(/burst/);
  });
});

describe("memoryRateLimiter", () => {
  it("keeps one bucket per tenant: a tenant over its budget does not slow another", async () => {
    let now = 0;
    const limiter = memoryRateLimiter({
      budgetOf: budgetsFromEnv(
        JSON.stringify({ "*": { perSecond: 1, burst: 3 }, vip: { perSecond: 100, burst: 100 } }),
      ),
      now: () => now,
    });
    const verdicts = [];
    for (let i = 0; i < 4; i++) verdicts.push(await limiter("noisy"));
    expect(verdicts.map((v) => v.ok)).toEqual([true, true, true, false]);
    expect(verdicts[3]).toEqual({ ok: false, retryAfterMs: 1000 });
    expect(await limiter("quiet")).toEqual({ ok: true });
    for (let i = 0; i < 50; i++) expect(await limiter("vip")).toEqual({ ok: true });
    now += 1000;
    expect(await limiter("noisy")).toEqual({ ok: true });
  });
});

describe("leasedRateLimiter", () => {
  it("lets instances that lease from one shared bucket spend one budget between them", async () => {
    let now = 0;
    const shared = new Map<string, TokenBucket>();
    let leases = 0;
    const instance = () =>
      leasedRateLimiter({
        budgetOf: () => ({ perSecond: 10, burst: 100 }),
        now: () => now,
        lease: async (tenant, budget, wanted) => {
          leases++;
          const bucket = shared.get(tenant) ?? new TokenBucket(budget, now);
          shared.set(tenant, bucket);
          return bucket.take(wanted, now, budget);
        },
      });
    const instances = [instance(), instance(), instance()];
    let granted = 0;
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      const verdict = await (instances[i % 3] as ReturnType<typeof instance>)("t");
      if (verdict.ok) granted++;
      else refused++;
    }
    expect(granted).toBe(100); // the burst, shared
    expect(refused).toBe(200);
    // Batches that grow with demand (up to a twentieth of the burst): not a round trip per request.
    expect(leases).toBeLessThan(40);
    now += 1000; // ten tokens back
    let later = 0;
    for (let i = 0; i < 30; i++) if ((await (instances[i % 3] as ReturnType<typeof instance>)("t")).ok) later++;
    expect(later).toBe(10);
    expect(await (instances[0] as ReturnType<typeof instance>)("other")).toEqual({ ok: true });
  });

  it("shares each lease among concurrent requests, and grows the batch with the demand", async () => {
    let leases = 0;
    const limiter = leasedRateLimiter({
      budgetOf: () => ({ perSecond: 100, burst: 200 }),
      lease: async (_tenant, _budget, wanted) => {
        leases++;
        await new Promise((resolve) => setTimeout(resolve, 10));
        return { granted: wanted, retryAfterMs: 0 };
      },
    });
    const verdicts = await Promise.all(Array.from({ length: 10 }, () => limiter("t")));
    expect(verdicts.every((v) => v.ok)).toBe(true);
    expect(leases).toBe(4); // 1, 2, 4, then 8 tokens: not one lease per request
  });

  it("lets many quiet instances share a tenant's budget without draining it", async () => {
    let now = 0;
    const budget = { perSecond: 1000, burst: 2000 };
    const shared = new TokenBucket(budget, now);
    let drawn = 0;
    const instances = Array.from({ length: 50 }, () =>
      leasedRateLimiter({
        budgetOf: () => budget,
        now: () => now,
        lease: async (_tenant, _budget, wanted) => {
          const taken = shared.take(wanted, now, budget);
          drawn += taken.granted;
          return taken;
        },
      }),
    );
    // Two requests a second on each of 50 instances (100/s, a tenth of the budget), for 10 s.
    let refused = 0;
    for (let second = 0; second < 10; second++) {
      for (const half of [0, 500]) {
        now = second * 1000 + half;
        for (const limiter of instances) if (!(await limiter("t")).ok) refused++;
      }
    }
    expect(refused).toBe(0);
    expect(drawn).toBeLessThanOrEqual(50 * 10 * 4); // a few tokens per instance per second, not a batch of 100
  });
});

it("answers 429 with Retry-After once a tenant's budget is spent", async () => {
  const app = createApp({
    backend: createMemoryBackend(),
    auth: staticTokens([
      { token: "a", tenant: "a", scopes: ["read"] },
      { token: "b", tenant: "b", scopes: ["read"] },
    ]),
    rateLimit: memoryRateLimiter({ perSecond: 0.5, burst: 2 }),
  });
  const lookup = (token: string) =>
    app.request("/v1/locks/lookup", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ key: "k" }),
    });
  expect((await lookup("a")).status).toBe(200);
  expect((await lookup("a")).status).toBe(200);
  const refused = await lookup("a");
  expect(refused.status).toBe(429);
  expect(refused.headers.get("retry-after")).toBe("2");
  expect(await refused.json()).toMatchObject({ error: { code: "RateLimited" } });
  expect((await lookup("b")).status).toBe(200);
});

it("never limits release or extend: a busy tenant can always let go of what it holds", async () => {
  const app = createApp({
    backend: createMemoryBackend(),
    auth: staticTokens([{ token: "a", tenant: "a", scopes: ["lock"] }]),
    rateLimit: memoryRateLimiter({ perSecond: 0.1, burst: 2 }),
  });
  const post = (path: string, body: object) =>
    app.request(path, {
      method: "POST",
      headers: { authorization: "Bearer a", "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const first = (await (await post("/v1/locks/acquire", { key: "x" })).json()) as { lockId: string };
  const second = (await (await post("/v1/locks/acquire", { key: "y" })).json()) as { lockId: string };
  expect((await post("/v1/locks/acquire", { key: "z" })).status).toBe(429);
  for (let i = 0; i < 5; i++) expect((await post("/v1/locks/extend", { lockId: first.lockId })).status).toBe(200);
  expect((await post("/v1/locks/release", { lockId: first.lockId })).status).toBe(200);
  expect((await post("/v1/locks/release", { lockId: second.lockId })).status).toBe(200);
  expect((await post("/v1/locks/acquire", { key: "x" })).status).toBe(429);
});
