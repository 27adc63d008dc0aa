/**
 * The Worker itself, under workerd (`HOLDFAST_BACKEND=neon npm start`), over the
 * stand-in and the real Postgres: the contention ledger with 32 concurrent HTTP clients,
 * trying once and waiting in the queue (handoffs pushed over the Worker's WebSocket
 * LISTEN); and a missing Postgres named at start.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runContention } from "@holdfast/shared/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedServer, startServer } from "../start-server.ts";
import { httpBackend } from "../support/http-backend.ts";

const dataDir = mkdtempSync(join(tmpdir(), "holdfast-neon-worker-"));
const tokens = [{ token: `ledger-${randomUUID()}`, tenant: "ledger", scopes: ["lock", "read"] }];
const clean = { clientOverlaps: 0, storeOverlaps: 0, fenceViolations: 0, lostReleases: 0 };

describe("the Worker on Neon", () => {
  let server: StartedServer;
  beforeAll(async () => {
    server = await startServer({
      HOLDFAST_DATA_DIR: dataDir,
      HOLDFAST_BACKEND: "neon",
      HOLDFAST_PG_PREFIX: `hfw_${randomUUID().replaceAll("-", "").slice(0, 12)}_`,
      HOLDFAST_TOKENS: JSON.stringify(tokens),
    });
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
});

it("stops at start, naming Postgres, when Postgres cannot be reached", async () => {
  const started = startServer({ HOLDFAST_BACKEND: "neon", POSTGRES_URL: "postgres://postgres@127.0.0.1:1/test" });
  await expect(started).rejects.toThrow(/Postgres/);
}, 60_000);
