/**
 * The `withlock` CLI, run as real child processes against the real app, from the bundle
 * that the package ships as its bin (built here into a temporary directory). The packed
 * package's bin, installed from the tarball, is run by package.test.ts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleCli } from "../build.ts";
import { EXIT } from "../cli/exit-codes.ts";
import { createClient } from "../src/index.ts";
import { startTestServer, type TestServer, TOKEN } from "./support/server.ts";

const outDir = mkdtempSync(join(tmpdir(), "withlock-"));
const BUNDLE = join(outDir, "withlock.js");

let server: TestServer;
let client: ReturnType<typeof createClient>;
beforeAll(async () => {
  await bundleCli(BUNDLE);
  server = await startTestServer();
  client = createClient({ url: server.url, token: TOKEN });
});
afterAll(async () => {
  await server.close();
  rmSync(outDir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  /** Resolves when the process exits. */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Resolves once stdout contains `text`. */
  printed(text: string): Promise<void>;
}

function withlock(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [BUNDLE, ...args], {
    env: { ...process.env, HOLDFAST_URL: server.url, HOLDFAST_TOKEN: TOKEN, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiters: (() => void)[] = [];
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  child.once("exit", () => {
    for (const wake of waiters.splice(0)) wake();
  });
  const done = once(child, "exit").then(([code]) => ({ code: code as number | null, stdout, stderr }));
  const printed = async (text: string) => {
    while (!stdout.includes(text)) {
      if (child.exitCode !== null) throw new Error(`exited before printing ${text}: ${stderr}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { child, done, printed };
}

/**
 * A node script as a command: runs `body`, then prints "ready" — after `body` has set
 * its signal handlers, so that a test never signals a command that cannot handle it yet.
 */
const nodeCommand = (body: string) => ["--", process.execPath, "-e", `${body}; console.log("ready");`];

let n = 0;
const freshKey = () => `cli-test:${++n}`;

describe("withlock", () => {
  it("runs the command under the lock, passes its exit code and the fence, and releases", async () => {
    const key = freshKey();
    const run = withlock([
      key,
      ...nodeCommand(`console.log("fence=" + process.env.HOLDFAST_FENCE); process.exitCode = 7`),
    ]);
    await run.printed("ready");
    const { code, stdout } = await run.done;
    expect(code).toBe(7);
    expect(stdout).toMatch(/fence=\d{15}/);
    expect((await client.getByKey({ key })).locked).toBe(false);
  });

  it("holds the lock while the command runs", async () => {
    const key = freshKey();
    const run = withlock([key, ...nodeCommand("setInterval(() => {}, 1000)")]);
    await run.printed("ready");
    expect((await client.getByKey({ key })).locked).toBe(true);
    run.child.kill("SIGTERM"); // forwarded to the command, which dies of it
    const { code } = await run.done;
    expect(code).toBe(128 + 15);
    expect((await client.getByKey({ key })).locked).toBe(false);
  });

  it("exits with the held code and a clear message when the key is held", async () => {
    const key = freshKey();
    const holder = await client.acquire({ key });
    const { code, stderr, stdout } = await withlock([key, "--wait", "200", ...nodeCommand("")]).done;
    expect(code).toBe(EXIT.held);
    expect(stderr).toContain(`"${key}" is held by another holder (waited 200 ms)`);
    expect(stdout).toBe("");
    await holder[Symbol.asyncDispose]();
  });

  it("waits for the key with --wait", async () => {
    const key = freshKey();
    const holder = await client.acquire({ key });
    const run = withlock([key, "--wait", "20000", ...nodeCommand("")]);
    setTimeout(() => void holder[Symbol.asyncDispose](), 300);
    expect((await run.done).code).toBe(0);
  });

  it("stops waiting for the key on SIGTERM, without running the command", async () => {
    const key = freshKey();
    const holder = await client.acquire({ key });
    const acquires = () => server.requests.filter((r) => r === "POST /v1/locks/acquire").length;
    const before = acquires();
    const run = withlock([key, "--wait", "60000", ...nodeCommand("")]);
    // Once its acquire is parked on the server, withlock is listening for signals.
    while (acquires() === before) await new Promise((resolve) => setTimeout(resolve, 20));
    run.child.kill("SIGTERM");
    const { code, stdout } = await run.done;
    expect(code).toBe(128 + 15);
    expect(stdout).toBe("");
    await holder[Symbol.asyncDispose]();
    expect((await client.getByKey({ key })).locked).toBe(false);
  });

  it("sends SIGTERM to the command when the lease is lost, and exits with the lease-lost code", async () => {
    const key = freshKey();
    const run = withlock([
      key,
      "--ttl",
      "600",
      ...nodeCommand(
        `process.on("SIGTERM", () => { console.log("got SIGTERM"); process.exit(0); }); setInterval(() => {}, 1000)`,
      ),
    ]);
    await run.printed("ready");
    // Revoke the lease (an admin token sees lockIds); the next extend finds it gone.
    const [holder] = (await client.getByKey({ key })).holders;
    await client.release({ lockId: holder?.lockId ?? "" });
    const { code, stdout, stderr } = await run.done;
    expect(stdout).toContain("got SIGTERM");
    expect(stderr).toMatch(/lease on ".*" lost/);
    expect(code).toBe(EXIT.leaseLost);
  });

  it("follows up with SIGKILL when the command ignores SIGTERM", async () => {
    const key = freshKey();
    const run = withlock([
      key,
      "--ttl",
      "600",
      "--kill-after",
      "300",
      ...nodeCommand(`process.on("SIGTERM", () => console.log("ignoring SIGTERM")); setInterval(() => {}, 1000)`),
    ]);
    await run.printed("ready");
    const [holder] = (await client.getByKey({ key })).holders;
    await client.release({ lockId: holder?.lockId ?? "" });
    const { code, stdout } = await run.done;
    expect(stdout).toContain("ignoring SIGTERM");
    expect(code).toBe(EXIT.leaseLost);
  });

  it("forwards SIGINT and SIGTERM to the command", async () => {
    const key = freshKey();
    const run = withlock([
      key,
      ...nodeCommand(
        `for (const s of ["SIGINT", "SIGTERM"]) process.on(s, () => { console.log("got " + s); if (s === "SIGTERM") process.exit(3); }); setInterval(() => {}, 1000)`,
      ),
    ]);
    await run.printed("ready");
    run.child.kill("SIGINT");
    await run.printed("got SIGINT");
    run.child.kill("SIGTERM");
    const { code, stdout } = await run.done;
    expect(stdout).toContain("got SIGTERM");
    expect(code).toBe(3);
    expect((await client.getByKey({ key })).locked).toBe(false);
  });

  it("reports usage errors, a missing token, an unknown command and an unreachable service", async () => {
    const usage = await withlock(["k", "echo", "hi"]).done;
    expect(usage.code).toBe(EXIT.usage);
    expect(usage.stderr).toContain("missing `--`");

    const noToken = await withlock(["k", "--", "true"], { HOLDFAST_TOKEN: "" }).done;
    expect(noToken.code).toBe(EXIT.usage);
    expect(noToken.stderr).toContain("no token");

    const key = freshKey();
    const missing = await withlock([key, "--", "holdfast-no-such-command"]).done;
    expect(missing.code).toBe(EXIT.notFound);
    expect((await client.getByKey({ key })).locked).toBe(false);

    const down = await withlock(["k", "--url", "http://127.0.0.1:9", "--", "true"]).done;
    expect(down.code).toBe(EXIT.unavailable);
    expect(down.stderr).toContain("ServiceUnavailable");

    const help = await withlock(["--help"]).done;
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("exit codes");
  });
});
