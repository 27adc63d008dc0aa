/**
 * The Redis lock libraries people reach for, side by side on the local Redis over its own
 * protocol (ioredis): redis-semaphore's Mutex and redlock (single instance). Sequential
 * acquire+release against one PING, and the hot key (16 contenders holding 1 ms) in their
 * own retry loops. Holdfast's rows on the same Redis (through the Upstash stand-in) are in
 * upstash.bench.ts, Postgres peers in neon.bench.ts.
 */
import { Redis } from "ioredis";
import { Mutex } from "redis-semaphore";
import Redlock from "redlock";
import { type ContentionResult, runContention } from "./contention.ts";
import { percentile } from "./http-client.ts";
import { asContender, median, medianOf, ms, type PeerLock, ratio, timed } from "./measure.ts";
import type { BenchRow } from "./run.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONTENDERS = 16;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

export default async function peersBench(): Promise<BenchRow[]> {
  const redis = new Redis(REDIS_URL);
  const redlock = new Redlock([redis], { retryCount: -1, retryDelay: 10, retryJitter: 5 });
  const prefix = `bench-peers:${Date.now()}`;
  try {
    const take = {
      semaphore: (async (key, deadline) => {
        const mutex = new Mutex(redis, `${prefix}:${key}`, {
          lockTimeout: 10_000,
          acquireTimeout: Math.max(1, deadline - performance.now()),
        });
        return (await mutex.tryAcquire()) ||
          (await mutex.acquire().then(
            () => true,
            () => false,
          ))
          ? () => mutex.release()
          : null;
      }) satisfies PeerLock,
      redlock: (async (key, deadline) => {
        try {
          const lock = await redlock.acquire([`${prefix}:rl:${key}`], 10_000, {
            retryCount: Math.ceil((deadline - performance.now()) / 10),
          });
          return () => lock.release();
        } catch {
          return null;
        }
      }) satisfies PeerLock,
    };
    const floor: number[] = [];
    const sequential: Record<keyof typeof take, number[]> = { semaphore: [], redlock: [] };
    const hot: Record<keyof typeof take, ContentionResult[]> = { semaphore: [], redlock: [] };
    for (let round = 0; round < ROUNDS; round++) {
      floor.push(percentile(await timed(PAIRS, () => redis.ping()), 50));
      for (const name of ["semaphore", "redlock"] as const) {
        const times = await timed(PAIRS, async (i) => {
          const release = await take[name](`seq:${i % 16}`, performance.now() + 1_000);
          await release?.();
        });
        sequential[name].push(percentile(times, 50));
        const contender = asContender(take[name]);
        hot[name].push(
          await runContention(contender.client, {
            contenders: CONTENDERS,
            seconds: SECONDS,
            holdMs: 1,
            acquire: contender.acquire,
          }),
        );
      }
    }
    const ping = median(floor);
    const labels = { semaphore: "redis-semaphore Mutex", redlock: "redlock (one Redis)" };
    const rows: BenchRow[] = [
      { name: "redis peers: one PING round trip (ioredis), p50", value: ms(ping), note: "the floor" },
    ];
    for (const name of ["semaphore", "redlock"] as const) {
      const result = medianOf(hot[name]);
      rows.push(
        {
          name: `redis peers: acquire+release p50, ${labels[name]}`,
          value: ms(median(sequential[name])),
          note: `${ratio(median(sequential[name]), ping)} one PING`,
        },
        {
          name: `redis peers hot key, ${CONTENDERS} contenders, ${labels[name]}: handoff p50 / grants/s / fairness`,
          value: `${ms(result.handoffP50)} / ${result.grantsPerSecond.toFixed(0)} / ${result.fairness.toFixed(2)}`,
          note: `${ratio(result.handoffP50, ping)} one PING; fewest ${result.fewest}, most ${result.most}`,
        },
      );
    }
    return rows;
  } finally {
    redis.disconnect();
  }
}
