/**
 * Process faults: a server SIGKILLed and restarted on the same port, a paused one, and a
 * throwaway redis-server (AOF, fsync always) and Postgres cluster that keep what they
 * acknowledged across a SIGKILL and restart, a paused redis, and the Firestore emulator
 * killed and back.
 */
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../local/firestore-emulator.ts";
import { groupMembers } from "../../local/process-group.ts";
import { clockShift } from "../faults/clock.ts";
import { killFault, pauseFault } from "../faults/fault.ts";
import { ManagedProcess } from "../faults/process.ts";
import { startFaultProxy } from "../faults/proxy.ts";
import { httpReady, redisReady } from "../faults/ready.ts";
import { type ThrowawayStore, throwawayFirestore, throwawayPostgres, throwawayRedis } from "../faults/stores.ts";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/**
 * A tiny HTTP server, started through a shell as a server launcher would be: it answers
 * with its pid, or at /now with its Date.now().
 */
async function tinyServer(env: Record<string, string> = {}): Promise<{ server: ManagedProcess; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const answer = `q.url === "/now" ? String(Date.now()) : String(process.pid)`;
  const script = `require("node:http").createServer((q, s) => s.end(${answer})).listen(${port}, "127.0.0.1")`;
  const server = new ManagedProcess({
    name: "server",
    command: "sh",
    args: ["-c", `node -e '${script}'; true`],
    env,
    ready: () => httpReady(url),
  });
  cleanups.push(() => server.stop());
  await server.start();
  return { server, url };
}

const answer = (url: string, ms = 1000) => fetch(url, { signal: AbortSignal.timeout(ms) }).then((r) => r.text());

describe("process faults", () => {
  it("kill: SIGKILL of the whole group, then a restart on the same port", async () => {
    const { server, url } = await tinyServer();
    const before = await answer(url);
    const pgid = server.pgid as number;
    const kill = killFault(server);
    await kill.inject();
    expect(groupMembers(pgid)).toEqual([]);
    await expect(answer(url)).rejects.toThrow();
    await kill.heal();
    const after = await answer(url);
    expect(after).not.toBe(before);
  });

  it("pause: no answer while stopped, the held request answered after SIGCONT", async () => {
    const { server, url } = await tinyServer();
    const pause = pauseFault(server);
    await pause.inject();
    const held = answer(url, 5000);
    const early = await Promise.race([held, new Promise((resolve) => setTimeout(() => resolve("pending"), 300))]);
    expect(early).toBe("pending");
    await pause.heal();
    expect(await held).toMatch(/^\d+$/);
  });

  it("clock: the server's Date.now() shifted while the fault lasts, and after a restart", async () => {
    const clock = clockShift();
    cleanups.push(async () => clock.remove());
    const { server, url } = await tinyServer(clock.env);
    const skew = async () => Number(await answer(`${url}now`)) - Date.now();
    expect(Math.abs(await skew())).toBeLessThan(1000);
    const shift = clock.fault(-60_000);
    await shift.inject();
    expect(await skew()).toBeLessThan(-59_000);
    const kill = killFault(server);
    await kill.inject();
    await kill.heal();
    expect(await skew()).toBeLessThan(-59_000);
    await shift.heal();
    expect(Math.abs(await skew())).toBeLessThan(1000);
  });
});

describe("store faults", () => {
  async function store(start: () => Promise<ThrowawayStore>): Promise<ThrowawayStore> {
    const started = await start();
    cleanups.push(() => started.remove());
    return started;
  }

  it("redis with AOF keeps an acknowledged key across SIGKILL and restart", async () => {
    const redis = await store(throwawayRedis);
    const client = () => new Redis(redis.url, { maxRetriesPerRequest: 0, lazyConnect: true });
    const writer = client();
    await writer.connect();
    await writer.set("fence", "41");
    expect(await writer.incr("fence")).toBe(42);
    writer.disconnect();
    const kill = killFault(redis.process);
    await kill.inject();
    await kill.heal();
    const reader = client();
    await reader.connect();
    expect(await reader.get("fence")).toBe("42");
    reader.disconnect();

    const pause = pauseFault(redis.process);
    await pause.inject();
    expect(await redisReady(redis.port, 300)).toBe(false);
    await pause.heal();
    expect(await redisReady(redis.port)).toBe(true);
  });

  it("a proxy between a client and redis delays, holds and resets the store's protocol", async () => {
    const redis = await store(throwawayRedis);
    const proxy = await startFaultProxy({ name: "redis", target: { port: redis.port } });
    cleanups.push(() => proxy.close());
    expect(await redisReady(proxy.port)).toBe(true);
    proxy.setMode({ kind: "latency", ms: 100, jitterMs: 20 });
    const started = performance.now();
    expect(await redisReady(proxy.port)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    proxy.setMode({ kind: "blackhole" });
    expect(await redisReady(proxy.port, 300)).toBe(false);
    proxy.setMode({ kind: "reset" });
    expect(await redisReady(proxy.port)).toBe(false);
    expect(proxy.stats.resets).toBeGreaterThan(0);
    proxy.setMode({ kind: "pass" });
    expect(await redisReady(proxy.port)).toBe(true);
  });

  it("a Postgres cluster keeps a committed row across SIGKILL of its postmaster and backends", async () => {
    const postgres = await store(throwawayPostgres);
    const query = async (sql: string) => {
      const client = new pg.Client(postgres.url);
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    };
    await query("CREATE TABLE fences (n bigint); INSERT INTO fences VALUES (7)");
    const pgid = postgres.process.pgid as number;
    const kill = killFault(postgres.process);
    await kill.inject();
    expect(groupMembers(pgid)).toEqual([]);
    await kill.heal();
    expect(await query("SELECT n FROM fences")).toEqual([{ n: "7" }]);
  });

  it("the Firestore emulator, killed, serves again after its restart", { timeout: 60_000 }, async () => {
    const firestore = await store(throwawayFirestore);
    const url = `http://${firestore.url}/`;
    const kill = killFault(firestore.process);
    await kill.inject();
    await expect(httpReady(url)).rejects.toThrow();
    await kill.heal();
    expect(await httpReady(url)).toBe(true);
  });
});
