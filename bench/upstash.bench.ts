/**
 * Upstash issue benchmark, all on one stand-in in front of the local Redis, so that every
 * figure below shares its floor (one REST round trip through the same stand-in):
 * - commands per operation, counted at the stand-in (goal 1), and per waiter per handoff;
 * - sequential acquire+release latency through the Worker (npm start, workerd), the same
 *   scripts sent straight from Node, and @upstash/lock (SET NX PX + a release script);
 * - hot-key handoff, 16 contenders holding 1 ms: the Worker's queue vs @upstash/lock's
 *   retry loop (its default 100 ms delay, and a tight 10 ms one).
 * Every figure is the median over ROUNDS interleaved rounds, its floor measured in the same rounds.
 */
import { randomUUID } from "node:crypto";
import { keyIdOf, newToken } from "@holdfast/shared";
import { Lock } from "@upstash/lock";
import { Redis } from "@upstash/redis";
import { createUpstashBackend } from "../edge/src/upstash/backend.ts";
import { type SpawnedStandin, spawnUpstashStandin } from "../local/standins/spawn-upstash.ts";
import { type Acquirer, type ContentionResult, runContention, waitingAcquirer } from "./contention.ts";
import { type JsonClient, percentile } from "./http-client.ts";
import {
  asContender,
  benchServer,
  eachOperation,
  median,
  medianOf,
  ms,
  type PeerLock,
  ratio,
  timed,
} from "./measure.ts";
import type { BenchRow } from "./run.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONTENDERS = 16;

export default async function upstashBench(): Promise<BenchRow[]> {
  // A process of its own, as the hosted service is: its event loop is not the client's.
  const standin = await spawnUpstashStandin();
  const { token } = standin;
  const prefix = `bench-${randomUUID()}`;
  const { client, stop } = await benchServer({
    HOLDFAST_BACKEND: "upstash",
    HOLDFAST_REDIS_PREFIX: prefix,
    UPSTASH_REDIS_REST_URL: standin.url,
    UPSTASH_REDIS_REST_TOKEN: token,
  });
  const backend = createUpstashBackend({ url: standin.url, token, prefix: `${prefix}-node` });
  const redis = new Redis({ url: standin.url, token, enableTelemetry: false, enableAutoPipelining: false });
  try {
    const counts = await commandCounts(standin, backend);
    const latency = await latencies(client, backend, redis);
    const handoff = await handoffs(standin, client, redis);
    return [...counts, ...latency.rows, ...handoff];
  } finally {
    await stop();
    await standin.stop();
  }
}

async function commandCounts(
  standin: SpawnedStandin,
  backend: ReturnType<typeof createUpstashBackend>,
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  await eachOperation(backend, async (name, run) => {
    await standin.resetStats();
    await run();
    const { commands } = await standin.stats();
    rows.push({ name: `upstash: store commands per ${name}`, value: String(commands), goal: "1" });
  });
  return rows;
}

async function latencies(
  client: JsonClient,
  backend: ReturnType<typeof createUpstashBackend>,
  redis: Redis,
): Promise<{ rows: BenchRow[]; floor: number }> {
  const pair = {
    floor: async () => {
      await redis.time();
    },
    worker: async (i: number) => {
      const grant = await client.post("/v1/locks/acquire", { key: `lat:${i % 32}` });
      await client.post("/v1/locks/release", { lockId: grant.body.lockId as string });
    },
    node: async (i: number) => {
      const key = `lat:${i % 32}`;
      const keyId = await keyIdOf("bench", key);
      const token = newToken();
      const request = { tenant: "bench", key, keyId, token, ttlMs: 10_000, mode: "exclusive" as const, permits: 1 };
      await backend.acquire({ ...request, limit: null });
      await backend.release({ tenant: "bench", keyId, token });
    },
    upstashLock: async (i: number) => {
      const lock = new Lock({ id: `lat-lock:${i % 32}`, redis, lease: 10_000 });
      await lock.acquire();
      await lock.release();
    },
  };
  const samples: Record<keyof typeof pair, { p50: number[]; p99: number[] }> = {
    floor: { p50: [], p99: [] },
    worker: { p50: [], p99: [] },
    node: { p50: [], p99: [] },
    upstashLock: { p50: [], p99: [] },
  };
  for (const once of Object.values(pair)) await timed(20, once); // warm up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, once] of Object.entries(pair) as [keyof typeof pair, (i: number) => Promise<void>][]) {
      const times = await timed(PAIRS, once);
      samples[name].p50.push(percentile(times, 50));
      samples[name].p99.push(percentile(times, 99));
    }
  }
  const floor = median(samples.floor.p50);
  const row = (label: string, name: keyof typeof pair, note: string): BenchRow[] => [
    {
      name: `upstash: acquire+release p50, ${label}`,
      value: ms(median(samples[name].p50)),
      note: `${ratio(median(samples[name].p50), floor)} one REST round trip; ${note}`,
    },
    { name: `upstash: acquire+release p99, ${label}`, value: ms(median(samples[name].p99)) },
  ];
  const rows = [
    { name: "upstash: one REST round trip (TIME through the stand-in), p50", value: ms(floor), note: "the floor" },
    ...row(
      "through the Worker (workerd)",
      "worker",
      `${ratio(median(samples.worker.p50), median(samples.node.p50))} the same scripts from Node`,
    ),
    ...row("same scripts straight from Node", "node", "2 round trips"),
    ...row("@upstash/lock (SET NX PX + release script)", "upstashLock", "2 round trips, no fence, no queue"),
  ];
  return { rows, floor };
}

/** @upstash/lock as a contender: its own retry loop (`attempts` × `delay`), until the deadline. */
function upstashLock(redis: Redis, delayMs: number): PeerLock {
  return async (key, deadline) => {
    while (performance.now() < deadline) {
      const lock = new Lock({ id: key, redis, lease: 10_000, retry: { attempts: 50, delay: delayMs } });
      if (await lock.acquire()) return () => lock.release();
    }
    return null;
  };
}

async function handoffs(standin: SpawnedStandin, client: JsonClient, redis: Redis): Promise<BenchRow[]> {
  const run = (target: JsonClient, acquire: Acquirer, seconds = SECONDS) =>
    runContention(target, { contenders: CONTENDERS, seconds, holdMs: 1, acquire });
  const peer = (delayMs: number) => {
    const { client: releases, acquire } = asContender(upstashLock(redis, delayMs));
    return () => run(releases, acquire);
  };
  const contenders = {
    holdfast: () => run(client, waitingAcquirer),
    lockDefault: peer(100),
    lockTight: peer(10),
  };
  const results: Record<keyof typeof contenders, ContentionResult[]> = { holdfast: [], lockDefault: [], lockTight: [] };
  const floors: number[] = [];
  const pacedFloors: number[] = [];
  const perHandoff: number[] = [];
  await run(client, waitingAcquirer, 1); // warm up
  for (let round = 0; round < ROUNDS; round++) {
    floors.push(percentile(await timed(PAIRS, () => redis.time()), 50));
    // A release follows a 1 ms hold: the same round trip after the same pause (idle
    // processes answer later on this machine than ones kept busy by a tight loop).
    pacedFloors.push(percentile(await timed(PAIRS, () => redis.time(), 1), 50));
    await standin.resetStats();
    const waiting = await contenders.holdfast();
    // Every grant costs its release one command; the rest was spent by waiters.
    perHandoff.push(((await standin.stats()).commands - waiting.grants) / waiting.grants);
    results.holdfast.push(waiting);
    results.lockDefault.push(await contenders.lockDefault());
    results.lockTight.push(await contenders.lockTight());
  }
  const floor = median(floors);
  const paced = median(pacedFloors);
  const rows = (label: string, result: ContentionResult, extra: BenchRow[] = []): BenchRow[] => [
    {
      name: `upstash hot key, ${label}: handoff p50`,
      value: ms(result.handoffP50),
      goal: "≤ 2× one REST round trip (Holdfast)",
      note: `${ratio(result.handoffP50, floor)} one REST round trip back to back (${ms(floor)}), ${ratio(result.handoffP50, paced)} one after a 1 ms pause (${ms(paced)}), same rounds`,
    },
    { name: `upstash hot key, ${label}: handoff p99`, value: ms(result.handoffP99) },
    { name: `upstash hot key, ${label}: grants/s`, value: result.grantsPerSecond.toFixed(0) },
    {
      name: `upstash hot key, ${label}: fairness (fewest/most)`,
      value: result.fairness.toFixed(2),
      goal: "≥ 0.9 (Holdfast)",
      note: `fewest ${result.fewest}, most ${result.most}, ${result.grants} grants`,
    },
    ...extra,
  ];
  return [
    ...rows(`${CONTENDERS} waiters, Holdfast queue through the Worker`, medianOf(results.holdfast), [
      {
        name: "upstash hot key: store commands per waiter per handoff",
        value: median(perHandoff).toFixed(2),
        goal: "≤ 3",
      },
    ]),
    // With a retry loop the next grant mostly goes back to the releaser: see the fairness.
    ...rows(
      `${CONTENDERS} contenders, @upstash/lock retry loop, 100 ms delay (its default)`,
      medianOf(results.lockDefault),
    ),
    ...rows(`${CONTENDERS} contenders, @upstash/lock retry loop, 10 ms delay`, medianOf(results.lockTight)),
  ];
}
