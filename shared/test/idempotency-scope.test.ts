/**
 * Issue 11, item 3: an idempotency key belongs to the principal that sent it. Another
 * token of the same tenant that sends the same key is a different request: it does not
 * receive the holder's lockId (the capability that would let it release the lock).
 */
import { expect, it } from "vitest";
import { createApp, createMemoryBackend, staticTokens } from "../src/index.ts";

const app = createApp({
  backend: createMemoryBackend(),
  auth: staticTokens([
    { token: "alice", tenant: "shop", scopes: ["lock"] },
    { token: "mallory", tenant: "shop", scopes: ["lock"] },
  ]),
});
const post = (token: string, path: string, body: object) =>
  app.request(path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

it("gives a holder's grant back only to the principal whose idempotency key it was", async () => {
  const request = { key: "payout:7", ttlMs: 30_000, idempotencyKey: "payout-7-attempt" };
  const first = await (await post("alice", "/v1/locks/acquire", request)).json();
  expect(first).toMatchObject({ ok: true });
  // Alice's retry after a lost answer: the same grant.
  expect(await (await post("alice", "/v1/locks/acquire", request)).json()).toMatchObject({ lockId: first.lockId });
  // Mallory guessed the key: a request of her own, refused because the key is held.
  const stolen = await post("mallory", "/v1/locks/acquire", request);
  expect(stolen.status).toBe(409);
  expect(JSON.stringify(await stolen.json())).not.toContain(first.lockId);
  // The same idempotency key is Mallory's own once the key is free.
  expect((await post("alice", "/v1/locks/release", { lockId: first.lockId })).status).toBe(200);
  const hers = await (await post("mallory", "/v1/locks/acquire", request)).json();
  expect(hers).toMatchObject({ ok: true, fence: "000000000000002" });
  expect(hers.lockId).not.toBe(first.lockId);
});
