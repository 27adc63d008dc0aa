/**
 * The Worker itself, under workerd (`HOLDFAST_BACKEND=upstash|neon npm start`), over each
 * store's stand-in and the real Redis or Postgres: the contention ledger with 32
 * concurrent HTTP clients, trying once and waiting in the queue (handoffs pushed over
 * Upstash's `/subscribe` stream or the Worker's WebSocket LISTEN); and a missing store
 * named at start.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runContention } from "@holdfast/shared/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedServer, startServer } from "./start-server.ts";
import { httpBackend } from "./support/http-backend.ts";

const tokens = [{ token: `ledger-${randomUUID()}`, tenant: "ledger", scopes: ["lock", "read"] }];
const clean = { clientOverlaps: 0, storeOverlaps: 0, fenceViolations: 0, lostReleases: 0 };

const stores = [
  {
    store: "Upstash",
    env: { HOLDFAST_BACKEND: "upstash", HOLDFAST_REDIS_PREFIX: `worker-test-${randomUUID()}` },
    unreachable: { HOLDFAST_BACKEND: "upstash", REDIS_URL: "redis://127.0.0.1:1" },
    named: /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/,
  },
  {
    store: "Neon",
    env: { HOLDFAST_BACKEND: "neon", HOLDFAST_PG_PREFIX: `hfw_${randomUUID().replaceAll("-", "").slice(0, 12)}_` },
    unreachable: { HOLDFAST_BACKEND: "neon", POSTGRES_URL: "postgres://postgres@127.0.0.1:1/test" },
    named: /Postgres/,
  },
];

describe.each(stores)("the Worker on $store", ({ env, unreachable, named }) => {
  const dataDir = mkdtempSync(join(tmpdir(), "holdfast-stores-worker-"));
  let server: StartedServer;
  beforeAll(async () => {
    server = await startServer({ HOLDFAST_DATA_DIR: dataDir, HOLDFAST_TOKENS: JSON.stringify(tokens), ...env });
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const backend = () => httpBackend(server.url, () => tokens[0]?.token as string);

  it("keeps 32 clients that try once out of each other's sections", async () => {
    const report = await runContention(backend(), { workers: 32, keys: 2, grantsPerWorker: 4, holdMs: 2 });
    expect(report).toMatchObject({ grants: 128, ...clean });
  }, 90_000);

  it("keeps 32 clients that wait in the queue out of each other's sections", async () => {
    const report = await runContention(backend(), {
      workers: 32,
      keys: 2,
      grantsPerWorker: 4,
      holdMs: 2,
      waitMs: 20_000,
    });
    expect(report).toMatchObject({ grants: 128, ...clean });
    expect(report.attempts).toBe(128); // every wait ended in a grant
  }, 90_000);

  it("stops at start, naming the store, when it cannot be reached", async () => {
    await expect(startServer(unreachable)).rejects.toThrow(named);
  }, 60_000);
});
