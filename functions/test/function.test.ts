/**
 * The deployed artifact itself: the bundle `npm run build:functions` writes for `firebase
 * deploy`, served by Google's Functions Framework exactly as Cloud Functions serves it
 * (the framework parses the body and hands the function `req.rawBody`), over the real
 * Firestore emulator. The app must see the raw bytes: its own guards apply, the ledger
 * with 32 HTTP clients stays clean, and a waiter whose client leaves leaves the queue.
 */
import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runContention } from "@holdfast/shared/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_PROJECT } from "../../local/firestore-emulator.ts";
import { serveFunction } from "../../local/serve-function.ts";
import { buildFunctions } from "../../scripts/build-functions.ts";
import { httpBackend } from "../../test/support/http-backend.ts";
import { sharedEmulator, stopSharedEmulator } from "./fixture.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
// Inside the repository, so that the bundle's external packages resolve from node_modules.
const outDir = join(root, "functions", `.dist-test-${randomUUID()}`);
const token = `fn-${randomUUID()}`;
const clean = { clientOverlaps: 0, storeOverlaps: 0, fenceViolations: 0, lostReleases: 0 };
let server: Server;
let url: string;

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body,
  });

beforeAll(async () => {
  const emulator = await sharedEmulator();
  Object.assign(process.env, {
    FIRESTORE_EMULATOR_HOST: emulator.host,
    GCLOUD_PROJECT: DEMO_PROJECT,
    HOLDFAST_TOKENS: JSON.stringify([{ token, tenant: "fn", scopes: ["lock", "read", "admin"] }]),
    HOLDFAST_FIRESTORE_COLLECTION: `fn_${randomUUID()}`,
  });
  await buildFunctions(outDir);
  ({ server, url } = await serveFunction(0, "127.0.0.1", pathToFileURL(join(outDir, "index.js")).href));
}, 90_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await stopSharedEmulator();
  const { rmSync } = await import("node:fs");
  rmSync(outDir, { recursive: true, force: true });
}, 30_000);

describe("the exported function, as Cloud Functions invokes it", () => {
  it("names the store and its clock in /health", async () => {
    const health = await (await fetch(`${url}/health`)).json();
    expect(health).toMatchObject({ ok: true, backend: "firestore", clock: { authority: "firestore" } });
  });

  it("grants, refuses, hands over fences in order and releases", async () => {
    const key = `fn:${randomUUID()}`;
    const first = await (await post("/v1/locks/acquire", JSON.stringify({ key }))).json();
    expect(first).toMatchObject({ ok: true, fence: "000000000000001" });
    const second = await post("/v1/locks/acquire", JSON.stringify({ key }));
    expect(second.status).toBe(409);
    expect(await (await post("/v1/locks/release", JSON.stringify({ lockId: first.lockId }))).json()).toMatchObject({
      ok: true,
    });
    expect(await (await post("/v1/locks/acquire", JSON.stringify({ key }))).json()).toMatchObject({
      fence: "000000000000002",
    });
  });

  it("parses the raw body itself: its guards apply although the framework parsed it first", async () => {
    // Valid JSON to the framework, refused by the app's strict schema and prototype guard.
    const proto = await post("/v1/locks/acquire", '{"key":"a","__proto__":{"admin":true}}');
    expect(proto.status).toBe(400);
    const unknown = await post("/v1/locks/acquire", '{"key":"a","ttl":5}');
    expect(await unknown.json()).toMatchObject({ ok: false, error: { code: "InvalidArgument" } });
    const large = await post("/v1/locks/acquire", JSON.stringify({ key: "a", pad: "x".repeat(20_000) }));
    expect(large.status).toBe(413);
    const notJson = await post("/v1/locks/acquire", '{"key":"a"}', { "content-type": "text/plain" });
    expect(notJson.status).toBe(415);
  });

  it("judges the bytes that came in: invalid UTF-8 is refused, a gzip body is measured inflated", async () => {
    // Only the raw bytes show this: the framework's parse would have turned them into U+FFFD.
    const invalid = await fetch(`${url}/v1/locks/acquire`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: new Uint8Array([...Buffer.from('{"key":"a'), 0xff, ...Buffer.from('"}')]),
    });
    expect(await invalid.json()).toMatchObject({
      error: { code: "InvalidArgument", message: "body is not valid UTF-8" },
    });
    // 20 KB of JSON in a few hundred gzip bytes: the body limit counts what it inflates to.
    const { gzipSync } = await import("node:zlib");
    const zipped = await fetch(`${url}/v1/locks/acquire`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-encoding": "gzip" },
      body: gzipSync(JSON.stringify({ key: "a", pad: "x".repeat(20_000) })),
    });
    expect(zipped.status).toBe(413);
  });

  it("keeps 32 clients that try once out of each other's sections", async () => {
    const report = await runContention(
      httpBackend(url, () => token),
      {
        workers: 32,
        keys: 2,
        grantsPerWorker: 2,
        holdMs: 2,
        tenant: "fn",
      },
    );
    expect(report).toMatchObject({ grants: 64, ...clean });
  }, 120_000);

  it("keeps 32 clients that wait in the queue out of each other's sections", async () => {
    const report = await runContention(
      httpBackend(url, () => token),
      {
        workers: 32,
        keys: 2,
        grantsPerWorker: 2,
        holdMs: 2,
        waitMs: 25_000,
        tenant: "fn",
      },
    );
    expect(report).toMatchObject({ grants: 64, ...clean });
    expect(report.attempts).toBe(64); // every wait ended in a grant
  }, 120_000);

  it("takes a waiter out of the queue when its client goes away", async () => {
    const key = `fn:${randomUUID()}`;
    const holder = await (await post("/v1/locks/acquire", JSON.stringify({ key, ttlMs: 30_000 }))).json();
    const leaving = new AbortController();
    const waiting = fetch(`${url}/v1/locks/acquire`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ key, waitMs: 20_000 }),
      signal: leaving.signal,
    }).catch(() => "aborted");
    await new Promise((resolve) => setTimeout(resolve, 500));
    leaving.abort();
    expect(await waiting).toBe("aborted");
    await new Promise((resolve) => setTimeout(resolve, 500));
    await post("/v1/locks/release", JSON.stringify({ lockId: holder.lockId }));
    // Had the departed waiter stayed queued, the release would have handed it the key.
    const lookup = await (await post("/v1/locks/lookup", JSON.stringify({ key }))).json();
    expect(lookup).toMatchObject({ locked: false, fence: "000000000000001" });
  });
});
