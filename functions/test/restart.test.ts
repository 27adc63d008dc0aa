/**
 * The Firestore emulator stopped and restarted while 8 clients keep acquiring and
 * releasing through the app (retrying an acquire with its idempotency key, as the SDK
 * does): while it is down every answer is a clear 503 / 504 envelope
 * (never a 500, and never a 404 for a release of a live grant), and once it is back the same clients
 * are served again from the store's state: a key locked before the restart keeps its
 * fence and its holder (the emulator exports at the stop and imports at the start).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp, staticTokens } from "@holdfast/shared";
import { afterAll, expect, it } from "vitest";
import { type FirestoreEmulator, startFirestoreEmulator } from "../../local/firestore-emulator.ts";
import { createFirestoreBackend } from "../src/firestore/backend.ts";
import { firestoreAt } from "./fixture.ts";

const dataDir = mkdtempSync(join(tmpdir(), "holdfast-firestore-restart-"));
let emulator: FirestoreEmulator | undefined;
afterAll(async () => {
  await emulator?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

it("answers clear errors while the emulator is down, then the store's state", async () => {
  emulator = await startFirestoreEmulator({ dataDir });
  const { port } = emulator;
  const firestore = firestoreAt(emulator.host);
  const backend = createFirestoreBackend({ firestore, collection: "restart" });
  const app = createApp({
    backend,
    auth: staticTokens([{ token: "t", tenant: "t", scopes: ["lock", "read", "admin"] }]),
    storeTimeoutMs: 2000,
  });
  const call = async (path: string, body: object) => {
    const response = await app.request(path, {
      method: "POST",
      headers: { authorization: "Bearer t", "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  // A fresh emulator's first writes can take longer than the 2 s store deadline on a busy
  // machine: warm it on a key of its own, so that the key below starts from a known state.
  for (let attempt = 0; attempt < 30; attempt++) {
    const warm = await call("/v1/locks/acquire", { key: "warm-up" });
    if (warm.status === 200) await call("/v1/locks/release", { lockId: warm.json.lockId });
    // Any answer but a 5xx: the emulator answers in time (a timed-out acquire may hold the key).
    if (warm.status < 500) break;
  }
  // Before: a key with fence 3 and a live holder.
  for (let i = 0; i < 2; i++) {
    const grant = await call("/v1/locks/acquire", { key: "kept" });
    await call("/v1/locks/release", { lockId: grant.json.lockId });
  }
  const held = await call("/v1/locks/acquire", { key: "kept", ttlMs: 120_000 });
  expect(held.json).toMatchObject({ ok: true, fence: "000000000000003" });

  const statuses = new Map<number, number>();
  const errors = new Set<string>();
  let running = true;
  const count = (answer: { status: number; json: Record<string, unknown> }) => {
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    if (answer.status >= 500) errors.add(JSON.stringify(answer.json.error));
  };
  // A client as the SDK is one: an acquire that timed out may still land in the store, so
  // it is retried with the same idempotency key until it gets an answer.
  const client = async (n: number) => {
    let idempotencyKey = crypto.randomUUID();
    while (running) {
      const grant = await call("/v1/locks/acquire", { key: `busy:${n}`, ttlMs: 5000, idempotencyKey });
      count(grant);
      if (grant.status === 409) await new Promise((resolve) => setTimeout(resolve, 50));
      if (grant.status !== 200) continue;
      idempotencyKey = crypto.randomUUID();
      count(await call("/v1/locks/release", { lockId: grant.json.lockId }));
    }
  };
  const clients = Array.from({ length: 8 }, (_, n) => client(n));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await emulator.stop();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  emulator = await startFirestoreEmulator({ dataDir, port });
  const before = statuses.get(200) ?? 0;
  // Served again: more grants and releases after the restart.
  const deadline = Date.now() + 30_000;
  while ((statuses.get(200) ?? 0) < before + 40 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  running = false;
  await Promise.all(clients);

  expect(statuses.get(200) ?? 0).toBeGreaterThanOrEqual(before + 40);
  expect(statuses.get(500)).toBeUndefined();
  // 409: a release that timed out landed later, or its lease ran out first; never a 404 for a live grant.
  expect([...statuses.keys()].every((status) => [200, 409, 503, 504].includes(status))).toBe(true);
  expect(statuses.get(503) ?? statuses.get(504) ?? 0).toBeGreaterThan(0);
  for (const error of errors) expect(error).toMatch(/"code":"(ServiceUnavailable|NetworkTimeout)"/);

  // The store's state: the holder from before is still there, and the fence goes on.
  const lookup = await call("/v1/locks/lookup", { key: "kept" });
  expect(lookup.json).toMatchObject({ locked: true, fence: "000000000000003" });
  expect((await call("/v1/locks/release", { lockId: held.json.lockId })).status).toBe(200);
  expect((await call("/v1/locks/acquire", { key: "kept" })).json).toMatchObject({ fence: "000000000000004" });
  // Steps that timed out (504) may still be under way: close waits for them.
  await backend.close?.();
}, 120_000);
