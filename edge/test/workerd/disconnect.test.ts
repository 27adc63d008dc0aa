/**
 * The Worker's path from a client disconnect to the queue: Request.signal aborts, the
 * backend asks the object to drop the waiter. (Local workerd does not abort the signal
 * of a real incoming request yet, so the signal is aborted here by the caller.)
 */

import { env } from "cloudflare:workers";
import { createApp, staticTokens } from "@holdfast/shared";
import { expect, it } from "vitest";
import { createDurableObjectBackend } from "../../src/durable-object/backend.ts";

it("drops a waiter whose request was aborted, and serves the one behind it", async () => {
  const app = createApp({
    backend: createDurableObjectBackend(env.LOCKS),
    auth: staticTokens([{ token: "t", tenant: "x", scopes: ["lock", "read"] }]),
  });
  const post = (body: object, signal?: AbortSignal) =>
    app.request("/v1/locks/acquire", {
      method: "POST",
      headers: { authorization: "Bearer t", "content-type": "application/json" },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
  const key = `edge-disconnect:${crypto.randomUUID()}`;
  const holder = (await (await post({ key })).json()) as { lockId: string };
  const client = new AbortController();
  const leaving = post({ key, waitMs: 20_000 }, client.signal);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const staying = post({ key, waitMs: 20_000 });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const abortedAt = Date.now();
  client.abort();
  expect((await leaving).status).toBe(409);
  // Left at once, not when its 20 s ran out.
  expect(Date.now() - abortedAt).toBeLessThan(5_000);
  await app.request("/v1/locks/release", {
    method: "POST",
    headers: { authorization: "Bearer t", "content-type": "application/json" },
    body: JSON.stringify({ lockId: holder.lockId }),
  });
  const served = await staying;
  expect(served.status).toBe(200);
  expect(await served.json()).toMatchObject({ fence: "000000000000002" });
});
