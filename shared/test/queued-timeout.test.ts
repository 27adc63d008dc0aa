/**
 * Issue 11, item 12: an acquire (queued or not) whose store call times out (504) must not be granted
 * afterwards and keep the key, unheard of, until its TTL. The route abandons the wait: the
 * waiter leaves the queue, and a grant that still arrives is given back.
 */
import { expect, it } from "vitest";
import { type Backend, createApp, createMemoryBackend, staticTokens } from "../src/index.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The app over `backend`, with a store deadline of 50 ms. */
function poster(backend: Backend) {
  const app = createApp({
    backend,
    auth: staticTokens([{ token: "t", tenant: "t", scopes: ["lock", "read"] }]),
    storeTimeoutMs: 50,
  });
  return (path: string, body: object) =>
    app.request(path, {
      method: "POST",
      headers: { authorization: "Bearer t", "content-type": "application/json" },
      body: JSON.stringify(body),
    });
}

it("gives the key back when a queued acquire answered 504 is served later", async () => {
  const memory = createMemoryBackend();
  // A store that takes 300 ms to take a waiter in: longer than waitMs + storeTimeoutMs.
  const slow: Backend = {
    ...memory,
    acquireQueued: async (request, options) => {
      await sleep(300);
      return memory.acquireQueued?.(request, options) ?? memory.acquire(request);
    },
  };
  const post = poster(slow);

  const timedOut = await post("/v1/locks/acquire", { key: "k", waitMs: 100, ttlMs: 60_000 });
  expect(timedOut.status).toBe(504);
  await sleep(400);
  const lookup = await (await post("/v1/locks/lookup", { key: "k" })).json();
  expect(lookup).toMatchObject({ locked: false });
  expect((await post("/v1/locks/acquire", { key: "k" })).status).toBe(200);
});

it("gives the key back when an acquire without wait answered 504 lands later", async () => {
  const memory = createMemoryBackend();
  const slow: Backend = {
    ...memory,
    acquire: async (request) => {
      await sleep(200);
      return memory.acquire(request);
    },
  };
  const post = poster(slow);
  expect((await post("/v1/locks/acquire", { key: "k", ttlMs: 60_000 })).status).toBe(504);
  await sleep(300);
  expect(await (await post("/v1/locks/lookup", { key: "k" })).json()).toMatchObject({ locked: false });
});
