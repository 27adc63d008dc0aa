/** `npm start`: serves the API, prints URL/backend/token, and keeps fences across restarts. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type StartedServer, startServer } from "./start-server.ts";

const dataDir = mkdtempSync(join(tmpdir(), "holdfast-start-"));
const running: StartedServer[] = [];
afterAll(async () => {
  await Promise.all(running.map((server) => server.stop("SIGKILL")));
  rmSync(dataDir, { recursive: true, force: true });
});

async function start() {
  const server = await startServer({ HOLDFAST_DATA_DIR: dataDir, HOLDFAST_TOKEN: "secret" });
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

describe("npm start", () => {
  it("prints where it listens, the backend and the token", async () => {
    const { server } = await start();
    expect(server.output()).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(server.output()).toContain("backend: memory");
    expect(server.output()).toContain("token: secret");
    const health = await fetch(`${server.url}/health`);
    expect(await health.json()).toMatchObject({ ok: true, backend: expect.stringContaining("memory") });
    await server.stop();
  });

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
  });
});
