/**
 * A throwaway redis-server on a free port, persisted to an append-only file that is
 * synced on every write, so that a test can kill, pause and restart the store and find
 * what it had acknowledged.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis as IORedis } from "ioredis";
import { freePort } from "../../../../test/support/store-faults.ts";

export async function startThrowawayRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "holdfast-redis-"));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes"],
      { stdio: "ignore" },
    );
    child.once("error", () => undefined);
    for (let i = 0; i < 100; i++) {
      const probe = new IORedis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
      probe.on("error", () => undefined); // refused while it starts: the loop retries
      try {
        await probe.connect();
        // Every acknowledged write on disk before the reply.
        await probe.config("SET", "appendfsync", "always");
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        probe.disconnect();
      }
    }
    throw new Error(`redis-server did not start on ${url} (is redis-server installed?)`);
  }

  await start();
  return {
    url,
    start,
    signal(signal: NodeJS.Signals) {
      child?.kill(signal);
    },
    async kill() {
      if (!child || child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      child?.kill("SIGCONT");
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
