/**
 * A waiting client that disconnects leaves the queue: tested through real HTTP against
 * `npm run start:node`, whose server reports the disconnect through Request.signal.
 * (Cloudflare reports it to the Worker too, with the enable_request_signal flag; local
 * workerd does not yet, so `npm start` cannot run this test: see the README.)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type StartedServer, startServer } from "./start-server.ts";

const dataDir = mkdtempSync(join(tmpdir(), "holdfast-disconnect-"));
let server: StartedServer;
beforeAll(async () => {
  server = await startServer({ HOLDFAST_DATA_DIR: dataDir, HOLDFAST_TOKEN: "t" }, "scripts/start-node.ts");
}, 90_000);
afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const post = (path: string, body: object, signal?: AbortSignal) =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { authorization: "Bearer t", "content-type": "application/json" },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });

it("drops a waiter whose client went away, and serves the next one", async () => {
  const key = `disconnect:${crypto.randomUUID()}`;
  const holder = (await (await post("/v1/locks/acquire", { key })).json()) as { lockId: string };
  const client = new AbortController();
  const leaving = post("/v1/locks/acquire", { key, waitMs: 20_000 }, client.signal).catch((error) => error);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const staying = post("/v1/locks/acquire", { key, waitMs: 20_000 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  client.abort();
  expect(await leaving).toBeInstanceOf(Error);
  await new Promise((resolve) => setTimeout(resolve, 200));

  await post("/v1/locks/release", { lockId: holder.lockId });
  const served = await staying;
  expect(served.status).toBe(200);
  // The departed waiter was ahead in the queue: had it stayed, it would hold fence 2.
  expect(await served.json()).toMatchObject({ fence: "000000000000002" });
  const lookup = (await (await post("/v1/locks/lookup", { key })).json()) as { holders: unknown[] };
  expect(lookup.holders).toHaveLength(1);
}, 60_000);
