/**
 * `npm run proof -- --url … --token …` against servers started by hand: a broken one makes
 * it exit 1 and name the violation; a correct one, 0. Every workload runs; the mutex's
 * keys show the violation.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, createMemoryBackend } from "@holdfast/shared";
import { serve } from "@hono/node-server";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { checkThenSetBackend } from "../../shared/test/fixtures/broken-backends.ts";
import { appOver, PROOF_TOKEN } from "./broken-servers.ts";

const out = mkdtempSync(join(tmpdir(), "holdfast-proof-cli-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));
let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serveOver(backend: Backend): Promise<string> {
  const app = appOver(backend);
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve()) as Server;
  });
  return `http://127.0.0.1:${(server?.address() as AddressInfo).port}`;
}

function proof(url: string): Promise<{ code: number | null; output: string }> {
  const args = [
    "tsx",
    "proof/cli.ts",
    "--url",
    url,
    "--token",
    PROOF_TOKEN,
    "--attempts",
    "10",
    "--ttl",
    "200",
    "--seed",
    "3",
    "--out",
    out,
  ];
  return new Promise((resolve) => {
    const child = spawn("npx", args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("npm run proof -- --url", () => {
  it("exits 1 and names the violation on a check-then-set server", async () => {
    const { code, output } = await proof(await serveOver(checkThenSetBackend()));
    // Which violation is listed first depends on the timing; an overlap is among them.
    expect(output).toMatch(/\d+ violation\(s\):\n/);
    expect(output).toMatch(/\noverlap on "holdfast-proof:3-\w+:(mutex|semaphore|read-write):\d"/);
    expect(code).toBe(1);
  }, 60_000);

  it("exits 0 on a correct server", async () => {
    const { code, output } = await proof(await serveOver(createMemoryBackend()));
    expect(output).toContain("no violation");
    expect(code).toBe(0);
  }, 60_000);
});
