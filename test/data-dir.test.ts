/**
 * Issue 11, item 7: one data directory, one server. Two servers on one HOLDFAST_DATA_DIR
 * re-issued fences; the second now refuses to start and names the first. A directory
 * whose server was SIGKILLed is taken over by the next one.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type StartedServer, startServer } from "./start-server.ts";

const dirs: string[] = [];
const servers: StartedServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.each([
  { mode: "npm run start:node", script: "scripts/start-node.ts" },
  { mode: "npm start", script: "scripts/start.ts" },
])("$mode", ({ script }) => {
  it("refuses a second server on the same data directory, naming the first, and takes over after a crash", async () => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-data-dir-"));
    dirs.push(dir);
    const env = { HOLDFAST_DATA_DIR: dir, HOLDFAST_TOKEN: "dev" };
    const first = await startServer(env, script);
    servers.push(first);
    const second = startServer(env, script);
    await expect(second).rejects.toThrow(
      new RegExp(
        `is in use by another server \\(pid ${first.process.pid}, ${script.endsWith("node.ts") ? "npm run start:node" : "npm start"}`,
      ),
    );
    // A server killed outright leaves its claim behind; the next one sees its pid is gone.
    await first.stop("SIGKILL");
    const next = await startServer(env, script);
    servers.push(next);
    const health = await fetch(`${next.url}/health`);
    expect(health.status).toBe(200);
  }, 90_000);
});
