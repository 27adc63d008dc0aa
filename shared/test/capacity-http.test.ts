/**
 * R9 over HTTP: a key at its bound answers 429 CapacityExceeded with `error.limit` naming
 * the bound and, where a holder's expiry will make room, Retry-After; nothing changes.
 */
import { expect, it } from "vitest";
import { createApp, createMemoryBackend, staticTokens } from "../src/index.ts";

const app = createApp({
  backend: createMemoryBackend({ bounds: { holders: 2, waiters: 1 } }),
  auth: staticTokens([{ token: "ops", tenant: "shop", scopes: ["lock", "read"] }]),
  waitCapMs: 5_000,
});
const post = (path: string, body: object) =>
  app.request(path, {
    method: "POST",
    headers: { authorization: "Bearer ops", "content-type": "application/json" },
    body: JSON.stringify(body),
  });

it("refuses a holder past the key's bound with 429, the bound's name and Retry-After", async () => {
  const read = { key: "report:q3", mode: "shared", ttlMs: 20_000 };
  for (let i = 0; i < 2; i++) expect((await post("/v1/locks/acquire", read)).status).toBe(200);
  const refused = await post("/v1/locks/acquire", read);
  expect(refused.status).toBe(429);
  const retryAfter = Number(refused.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(19);
  expect(retryAfter).toBeLessThanOrEqual(20);
  expect(await refused.json()).toMatchObject({ ok: false, error: { code: "CapacityExceeded", limit: "holders" } });
  const view = await (await post("/v1/locks/lookup", { key: "report:q3" })).json();
  expect(view).toMatchObject({ holders: [{}, {}], fence: "000000000000002" });
});

it("refuses a waiter past the queue's bound with 429 and the bound's name", async () => {
  const held = await (await post("/v1/locks/acquire", { key: "deploy", ttlMs: 20_000 })).json();
  const queued = post("/v1/locks/acquire", { key: "deploy", waitMs: 5_000 });
  // The first waiter takes the queue's one place before the second asks.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const refused = await post("/v1/locks/acquire", { key: "deploy", waitMs: 5_000 });
  expect(refused.status).toBe(429);
  expect(refused.headers.get("retry-after")).toBeNull();
  expect(await refused.json()).toMatchObject({ error: { code: "CapacityExceeded", limit: "waiters" } });
  expect((await post("/v1/locks/release", { lockId: held.lockId })).status).toBe(200);
  expect((await queued).status).toBe(200);
});
