/**
 * Neon issue benchmark, on one stand-in of Neon's proxy (a process of its own) in front
 * of the local Postgres:
 * - statements and HTTP round trips per operation, counted at the stand-in (goal 1);
 * - sequential acquire+release through the Worker (npm start, workerd) and the same
 *   statements straight from Node, against one HTTP query round trip (`SELECT 1`);
 * - peers on the same Postgres over its own protocol (TCP): a syncguard-style
 *   multi-statement transaction, advisory-lock's method (a connection per lock, then
 *   pg_advisory_lock; reimplemented: the package's `withlock` bin shadows ours), and raw
 *   pg_advisory_lock on a kept connection, against one TCP round trip;
 * - hot-key handoff, 16 contenders holding 1 ms: the Worker's queue vs those peers.
 * Every figure is the median over ROUNDS interleaved rounds, its floor measured in the same rounds.
 */
import { randomUUID } from "node:crypto";
import { keyIdOf, newToken } from "@holdfast/shared";
import { neon } from "@neondatabase/serverless";
import pg from "pg";
import ws from "ws";
import { createNeonBackend } from "../edge/src/neon/backend.ts";
import { setupSchema } from "../edge/src/neon/schema/migrate.ts";
import { type SpawnedNeonStandin, spawnNeonStandin } from "../local/standins/spawn-neon.ts";
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
  sleep,
  timed,
} from "./measure.ts";
import type { BenchRow } from "./run.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONTENDERS = 16;
const POSTGRES_URL = process.env.POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export default async function neonBench(): Promise<BenchRow[]> {
  const standin = await spawnNeonStandin(POSTGRES_URL);
  const connectionString = `postgres://postgres@${standin.wsProxy}/test`;
  const tag = randomUUID().replaceAll("-", "").slice(0, 10);
  const { client, stop } = await benchServer({
    HOLDFAST_BACKEND: "neon",
    DATABASE_URL: connectionString,
    HOLDFAST_NEON_LOCAL_PROXY: "true",
    HOLDFAST_PG_PREFIX: `hfb_${tag}_`,
  });
  const nodePrefix = `hfn_${tag}_`;
  const backend = createNeonBackend({
    connectionString,
    prefix: nodePrefix,
    localProxy: true,
    webSocketConstructor: ws,
  });
  await setupSchema({ connectionString, prefix: nodePrefix, localProxy: true });
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: CONTENDERS * 2 + 4 });
  const peers = await startPeers(pool, `bench_peer_${tag}`);
  try {
    return [
      ...(await statementCounts(standin, backend)),
      ...(await latencies({ client, backend, sql: neon(connectionString), pool, peers })),
      ...(await handoffs({ client, standin, pool, peers, sql: neon(connectionString) })),
    ];
  } finally {
    await stop();
    await peers.drop();
    await pool.end();
    await standin.stop();
  }
}

async function statementCounts(
  standin: SpawnedNeonStandin,
  backend: ReturnType<typeof createNeonBackend>,
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  await eachOperation(backend, async (name, run) => {
    await standin.resetStats();
    await run();
    const { statements, httpRequests } = await standin.stats();
    rows.push({
      name: `neon: statements / HTTP round trips per ${name}`,
      value: `${statements} / ${httpRequests}`,
      goal: "1 / 1",
    });
  });
  return rows;
}

/** The peers' table and moves, over Postgres's own protocol. */
async function startPeers(pool: pg.Pool, table: string) {
  await pool.query(
    `CREATE TABLE ${table} (key text PRIMARY KEY, token text, fence bigint NOT NULL, expires_at timestamptz NOT NULL)`,
  );
  /** syncguard's shape: a transaction of several statements, the row locked, the fence incremented. */
  async function transactionAcquire(key: string, token: string): Promise<boolean> {
    const connection = await pool.connect();
    try {
      await connection.query("BEGIN");
      await connection.query(`SELECT 1 FROM ${table} WHERE key = $1 FOR UPDATE`, [key]);
      const { rowCount } = await connection.query(
        `INSERT INTO ${table} AS l (key, token, fence, expires_at) VALUES ($1, $2, 1, clock_timestamp() + interval '10 s')
         ON CONFLICT (key) DO UPDATE SET token = $2, fence = l.fence + 1, expires_at = clock_timestamp() + interval '10 s'
         WHERE l.expires_at <= clock_timestamp()`,
        [key, token],
      );
      await connection.query("COMMIT");
      return rowCount === 1;
    } catch (error) {
      await connection.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      connection.release();
    }
  }
  const transactionRelease = (key: string, token: string) =>
    pool.query(`UPDATE ${table} SET expires_at = '-infinity' WHERE key = $1 AND token = $2`, [key, token]);
  return {
    transactionAcquire,
    transactionRelease,
    drop: () => pool.query(`DROP TABLE IF EXISTS ${table}`),
  };
}

type Peers = Awaited<ReturnType<typeof startPeers>>;

/** advisory-lock's lock(): a new connection, then the blocking pg_advisory_lock on it. */
async function advisoryLockMethod(key: string, blocking: boolean): Promise<(() => Promise<unknown>) | null> {
  const connection = new pg.Client({ connectionString: POSTGRES_URL });
  await connection.connect();
  const lock = blocking ? "pg_advisory_lock" : "pg_try_advisory_lock";
  const { rows } = await connection.query(`SELECT ${lock}(hashtext($1)) AS ok`, [key]);
  if (!blocking && rows[0]?.ok !== true) {
    await connection.end();
    return null;
  }
  return async () => {
    await connection.query("SELECT pg_advisory_unlock(hashtext($1))", [key]);
    await connection.end();
  };
}

async function latencies(deps: {
  client: JsonClient;
  backend: ReturnType<typeof createNeonBackend>;
  sql: ReturnType<typeof neon>;
  pool: pg.Pool;
  peers: Peers;
}): Promise<BenchRow[]> {
  const { client, backend, sql, pool, peers } = deps;
  const kept = await pool.connect();
  const pair = {
    floorHttp: async () => {
      await sql.query("SELECT 1");
    },
    floorTcp: async () => {
      await kept.query("SELECT 1");
    },
    worker: async (i: number) => {
      const grant = await client.post("/v1/locks/acquire", { key: `lat:${i % 32}` });
      await client.post("/v1/locks/release", { lockId: grant.body.lockId as string });
    },
    node: async (i: number) => {
      const key = `lat:${i % 32}`;
      const keyId = await keyIdOf("bench", key);
      const token = newToken();
      await backend.acquire({
        tenant: "bench",
        key,
        keyId,
        token,
        ttlMs: 10_000,
        mode: "exclusive",
        permits: 1,
        limit: null,
      });
      await backend.release({ tenant: "bench", keyId, token });
    },
    transaction: async (i: number) => {
      const token = newToken();
      await peers.transactionAcquire(`lat:${i % 32}`, token);
      await peers.transactionRelease(`lat:${i % 32}`, token);
    },
    advisoryLock: async (i: number) => {
      const release = await advisoryLockMethod(`lat:${i % 32}`, false);
      await release?.();
    },
    rawAdvisory: async (i: number) => {
      await kept.query("SELECT pg_try_advisory_lock(hashtext($1))", [`lat:${i % 32}`]);
      await kept.query("SELECT pg_advisory_unlock(hashtext($1))", [`lat:${i % 32}`]);
    },
  };
  type Name = keyof typeof pair;
  const p50: Record<string, number[]> = {};
  const p99: Record<string, number[]> = {};
  try {
    for (const once of Object.values(pair)) await timed(20, once); // warm up
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, once] of Object.entries(pair)) {
        const times = await timed(PAIRS, once);
        p50[name] = [...(p50[name] ?? []), percentile(times, 50)];
        p99[name] = [...(p99[name] ?? []), percentile(times, 99)];
      }
    }
  } finally {
    kept.release();
  }
  const at = (name: Name) => median(p50[name] ?? []);
  const row = (label: string, name: Name, floor: Name, note: string): BenchRow[] => [
    {
      name: `neon: acquire+release p50, ${label}`,
      value: ms(at(name)),
      note: `${ratio(at(name), at(floor))} one ${floor === "floorHttp" ? "HTTP query" : "TCP query"} round trip; ${note}`,
    },
    { name: `neon: acquire+release p99, ${label}`, value: ms(median(p99[name] ?? [])) },
  ];
  return [
    {
      name: "neon: one HTTP query round trip (SELECT 1 through the stand-in), p50",
      value: ms(at("floorHttp")),
      note: "floor of Holdfast's rows",
    },
    {
      name: "neon: one TCP query round trip (SELECT 1, node-postgres), p50",
      value: ms(at("floorTcp")),
      note: "floor of the peers' rows",
    },
    ...row(
      "through the Worker (workerd)",
      "worker",
      "floorHttp",
      `${ratio(at("worker"), at("node"))} the same statements from Node`,
    ),
    ...row("same statements straight from Node", "node", "floorHttp", "2 statements, 2 round trips"),
    ...row("syncguard-style transaction (TCP)", "transaction", "floorTcp", "5 statements, 5 round trips"),
    ...row("advisory-lock's method (TCP)", "advisoryLock", "floorTcp", "a connection per lock, no fence"),
    ...row(
      "raw pg_advisory_lock on a kept connection (TCP)",
      "rawAdvisory",
      "floorTcp",
      "2 round trips, no fence, no TTL",
    ),
  ];
}

async function handoffs(deps: {
  client: JsonClient;
  standin: SpawnedNeonStandin;
  pool: pg.Pool;
  peers: Peers;
  sql: ReturnType<typeof neon>;
}): Promise<BenchRow[]> {
  const { client, standin, pool, peers, sql } = deps;
  const run = (target: JsonClient, acquire: Acquirer, seconds = SECONDS) =>
    runContention(target, { contenders: CONTENDERS, seconds, holdMs: 1, acquire });
  const peer = (take: PeerLock) => {
    const contender = asContender(take);
    return () => run(contender.client, contender.acquire);
  };
  const contenders = {
    holdfast: () => run(client, waitingAcquirer),
    advisoryLock: peer((key) => advisoryLockMethod(key, true)),
    rawAdvisory: peer(async (key) => {
      const kept = await pool.connect();
      await kept.query("SELECT pg_advisory_lock(hashtext($1))", [key]);
      return async () => {
        await kept.query("SELECT pg_advisory_unlock(hashtext($1))", [key]);
        kept.release();
      };
    }),
    polling: peer(async (key, deadline) => {
      const token = newToken();
      while (performance.now() < deadline) {
        if (await peers.transactionAcquire(key, token)) return () => peers.transactionRelease(key, token);
        await sleep(10);
      }
      return null;
    }),
  };
  type Name = keyof typeof contenders;
  const results: Record<Name, ContentionResult[]> = { holdfast: [], advisoryLock: [], rawAdvisory: [], polling: [] };
  const floors: number[] = [];
  const perHandoff: number[] = [];
  await run(client, waitingAcquirer, 1); // warm up
  for (let round = 0; round < ROUNDS; round++) {
    floors.push(percentile(await timed(PAIRS, () => sql.query("SELECT 1"), 1), 50));
    await standin.resetStats();
    const waiting = await contenders.holdfast();
    // Every grant costs its release one statement; the rest was spent by waiters.
    perHandoff.push(((await standin.stats()).statements - waiting.grants) / waiting.grants);
    results.holdfast.push(waiting);
    for (const name of ["advisoryLock", "rawAdvisory", "polling"] as const)
      results[name].push(await contenders[name]());
  }
  const floor = median(floors);
  const rawRate = medianOf(results.rawAdvisory).grantsPerSecond;
  const rows = (label: string, result: ContentionResult, extra: BenchRow[] = []): BenchRow[] => [
    {
      name: `neon hot key, ${label}: handoff p50`,
      value: ms(result.handoffP50),
      goal: "≤ 2× one HTTP query round trip (Holdfast)",
      note: `${ratio(result.handoffP50, floor)} one HTTP query round trip after a 1 ms pause (${ms(floor)}, same rounds)`,
    },
    { name: `neon hot key, ${label}: handoff p99`, value: ms(result.handoffP99) },
    {
      name: `neon hot key, ${label}: grants/s`,
      value: result.grantsPerSecond.toFixed(0),
      note: `${ratio(result.grantsPerSecond, rawRate)} raw pg_advisory_lock`,
    },
    {
      name: `neon hot key, ${label}: fairness (fewest/most)`,
      value: result.fairness.toFixed(2),
      goal: "≥ 0.9 (Holdfast)",
      note: `fewest ${result.fewest}, most ${result.most}, ${result.grants} grants`,
    },
    ...extra,
  ];
  return [
    ...rows(`${CONTENDERS} waiters, Holdfast queue through the Worker`, medianOf(results.holdfast), [
      { name: "neon hot key: statements per waiter per handoff", value: median(perHandoff).toFixed(2), goal: "≤ 3" },
    ]),
    ...rows(`${CONTENDERS} contenders, advisory-lock's method`, medianOf(results.advisoryLock)),
    ...rows(`${CONTENDERS} contenders, raw pg_advisory_lock on kept connections`, medianOf(results.rawAdvisory)),
    ...rows(`${CONTENDERS} contenders, syncguard-style transaction polled every 10 ms`, medianOf(results.polling)),
  ];
}
