/**
 * Hot-key handoff through HTTP against `npm start` (the Worker under workerd with the
 * Durable Object backend): 16 contenders on one key, holding 1 ms, with server-side
 * waiting vs client polling; against two floors measured in the same run: one round trip
 * to the same server (`GET /v1/time`, after a 1 ms pause as a release follows a hold) and
 * raw pg_advisory_lock on the local Postgres (16 kept connections, the same hold).
 */
import pg from "pg";
import { type ContentionResult, pollingAcquirer, runContention, waitingAcquirer } from "./contention.ts";
import { type jsonClient, percentile } from "./http-client.ts";
import { asContender, benchServer, median, medianOf, timed } from "./measure.ts";
import type { BenchRow } from "./run.ts";

const CONTENDERS = 16;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 200);
const POSTGRES_URL = process.env.POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

function rows(label: string, result: ContentionResult, roundTrip: number, raw: number): BenchRow[] {
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  return [
    {
      name: `${label}: handoff p50`,
      value: ms(result.handoffP50),
      goal: "≤ 3× one round trip (waiting)",
      note: `${(result.handoffP50 / roundTrip).toFixed(2)}× one GET /v1/time after a 1 ms pause (${ms(roundTrip)})`,
    },
    { name: `${label}: handoff p99`, value: ms(result.handoffP99) },
    {
      name: `${label}: grants/s`,
      value: result.grantsPerSecond.toFixed(0),
      goal: "≥ 0.8× raw pg_advisory_lock (waiting)",
      note: `${(result.grantsPerSecond / raw).toFixed(2)}× raw pg_advisory_lock (${raw.toFixed(0)} grants/s)`,
    },
    {
      name: `${label}: fairness (fewest/most grants)`,
      value: result.fairness.toFixed(2),
      goal: "≥ 0.9 (waiting)",
      note: `fewest ${result.fewest}, most ${result.most}, ${result.grants} grants`,
    },
  ];
}

/** raw pg_advisory_lock on kept connections, the same hold: the store-side floor of a handoff. */
async function rawAdvisoryRun(pool: pg.Pool): Promise<ContentionResult> {
  const contender = asContender(async (key) => {
    const kept = await pool.connect();
    await kept.query("SELECT pg_advisory_lock(hashtext($1))", [key]);
    return async () => {
      await kept.query("SELECT pg_advisory_unlock(hashtext($1))", [key]);
      kept.release();
    };
  });
  return runContention(contender.client, {
    contenders: CONTENDERS,
    seconds: SECONDS,
    holdMs: 1,
    acquire: contender.acquire,
  });
}

export default async function handoffBench(): Promise<BenchRow[]> {
  const { server, client, stop } = await benchServer();
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: CONTENDERS + 2 });
  const results = {
    waiting: [] as ContentionResult[],
    polling: [] as ContentionResult[],
    raw: [] as ContentionResult[],
  };
  const roundTrips: number[] = [];
  try {
    // Warm up the Worker, the object and the connections.
    await runContention(client, { contenders: CONTENDERS, seconds: 1, holdMs: 1, acquire: waitingAcquirer });
    for (let round = 0; round < ROUNDS; round++) {
      const times = await timed(PAIRS, () => fetch(`${server.url}/v1/time`).then((r) => r.json()), 1);
      roundTrips.push(percentile(times, 50));
      results.raw.push(await rawAdvisoryRun(pool));
      for (const [name, acquire] of [
        ["waiting", waitingAcquirer],
        ["polling", pollingAcquirer],
      ] as const) {
        results[name].push(
          await runContention(client, { contenders: CONTENDERS, seconds: SECONDS, holdMs: 1, acquire }),
        );
      }
    }
    const roundTrip = median(roundTrips);
    const raw = medianOf(results.raw).grantsPerSecond;
    const pairs = await uncontendedPairs(client, Math.min(3, SECONDS));
    const where = "durable-object, npm start (Miniflare)";
    return [
      ...rows(`${CONTENDERS} contenders, server-side waiting (${where})`, medianOf(results.waiting), roundTrip, raw),
      ...rows(
        `${CONTENDERS} contenders, client polling 100 ms exp. equal jitter (${where})`,
        medianOf(results.polling),
        roundTrip,
        raw,
      ),
      { name: `uncontended acquire+release pairs/s, 1 client (${where})`, value: pairs.toFixed(0) },
    ];
  } finally {
    await pool.end();
    await stop();
  }
}

async function uncontendedPairs(client: ReturnType<typeof jsonClient>, seconds: number): Promise<number> {
  const started = performance.now();
  let pairs = 0;
  while (performance.now() - started < seconds * 1000) {
    const grant = await client.post("/v1/locks/acquire", { key: `solo:${pairs % 32}` });
    await client.post("/v1/locks/release", { lockId: grant.body.lockId as string });
    pairs++;
  }
  return pairs / ((performance.now() - started) / 1000);
}
