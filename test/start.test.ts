/**
 * `npm start` (the Worker under workerd, Durable Object backend), the same with
 * HOLDFAST_BACKEND=upstash and =neon, and `npm run start:node` (plain Node, persisted memory
 * backend): each serves the API, prints URL, backend and token, and keeps fences
 * increasing and held locks held across a crash and restart.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type StartedServer, startServer } from "./start-server.ts";

const running: StartedServer[] = [];
const dataDirs: string[] = [];
afterAll(async () => {
  await Promise.all(running.map((server) => server.stop("SIGKILL")));
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

const entries = [
  { command: "npm start", script: "scripts/start.ts", backend: "durable-object", env: {} },
  { command: "npm run start:node", script: "scripts/start-node.ts", backend: "memory", env: {} },
  // Upstash keeps fences in the local Redis (through the stand-in that npm start starts).
  {
    command: "HOLDFAST_BACKEND=upstash npm start",
    script: "scripts/start.ts",
    backend: "upstash",
    env: { HOLDFAST_BACKEND: "upstash", HOLDFAST_REDIS_PREFIX: `start-${randomUUID()}` },
  },
  // Neon keeps fences in the local Postgres (through the stand-in that npm start starts).
  {
    command: "HOLDFAST_BACKEND=neon npm start",
    script: "scripts/start.ts",
    backend: "neon",
    env: { HOLDFAST_BACKEND: "neon", HOLDFAST_PG_PREFIX: `hfs_${randomUUID().slice(0, 8)}_` },
  },
];

describe.each(entries)("$command", ({ script, backend, env }) => {
  const dataDir = mkdtempSync(join(tmpdir(), "holdfast-start-"));
  dataDirs.push(dataDir);

  async function start() {
    const server = await startServer({ HOLDFAST_DATA_DIR: dataDir, HOLDFAST_TOKEN: "secret", ...env }, script);
    running.push(server);
    const call = async (path: string, body: object) => {
      const response = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { authorization: "Bearer secret", "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, string> };
    };
    return { server, call };
  }

  it("prints where it listens, the backend and the token", async () => {
    const { server } = await start();
    expect(server.output()).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(server.output()).toContain(`backend: ${backend}`);
    expect(server.output()).toContain("token: secret");
    const health = await fetch(`${server.url}/health`);
    expect(await health.json()).toMatchObject({ ok: true, backend: expect.stringContaining(backend) });
    await server.stop();
  }, 90_000);

  it("keeps fences increasing and held locks held across a crash and restart", async () => {
    const first = await start();
    const a = await first.call("/v1/locks/acquire", { key: "fence-key" });
    expect(a.body.fence).toBe("000000000000001");
    await first.call("/v1/locks/release", { lockId: a.body.lockId as string });
    const held = await first.call("/v1/locks/acquire", { key: "held-key", ttlMs: 60_000 });
    await first.server.stop("SIGKILL"); // no chance to flush anything: state must already be on disk

    const second = await start();
    const b = await second.call("/v1/locks/acquire", { key: "fence-key" });
    expect(b).toMatchObject({ status: 200, body: { fence: "000000000000002" } });
    expect((await second.call("/v1/locks/acquire", { key: "held-key" })).status).toBe(409);
    expect(await second.call("/v1/locks/owns", { lockId: held.body.lockId as string })).toMatchObject({
      body: { owned: true, fence: "000000000000001" },
    });
    await second.server.stop();
  }, 120_000);
});
