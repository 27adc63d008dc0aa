/**
 * Issue 11, item 4, on Workers: a tenant's budget lives in its RateLimitObject and is
 * shared by every isolate; the Worker answers 429 with Retry-After; other tenants are
 * not affected.
 */
import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { newToken } from "@holdfast/shared";
import { expect, it } from "vitest";
import type { Env } from "../../src/env.ts";
import { sharedRateLimiter } from "../../src/rate-limit/limiter.ts";

const lookup = (token: string) =>
  SELF.fetch("https://holdfast.test/v1/locks/lookup", {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ key: "k" }),
  });

it("answers 429 with Retry-After once the tenant's burst is spent, and only for that tenant", async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) statuses.push((await lookup("token-limited")).status);
  expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
  const refused = await lookup("token-limited");
  expect(refused.status).toBe(429);
  expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  expect(await refused.json()).toMatchObject({ ok: false, error: { code: "RateLimited" } });
  expect((await lookup("token-a")).status).toBe(200);
});

it("shares one budget among isolates through the tenant's Durable Object", async () => {
  const budgeted = { ...(env as Env), HOLDFAST_RATE_LIMITS: JSON.stringify({ "*": { perSecond: 1, burst: 4 } }) };
  // Two limiters stand for two isolates: each keeps its own leased tokens.
  const isolates = [sharedRateLimiter(budgeted), sharedRateLimiter(budgeted)];
  const tenant = `shared-${newToken()}`;
  const verdicts = [];
  for (let i = 0; i < 10; i++) verdicts.push(await (isolates[i % 2] as (typeof isolates)[0])(tenant));
  expect(verdicts.filter((verdict) => verdict.ok)).toHaveLength(4);
});
