/**
 * Issue 10's server rows, each against its floor in the same run:
 * - uncontended acquire+release pairs/s with 32 keep-alive clients: `npm run start:node`
 *   vs a trivial Hono app on the same Node, `npm start` (workerd, Durable Objects) vs a
 *   trivial Worker under the same Miniflare;
 * - one sequential acquire+release vs one `GET /v1/time` on the same server, and for
 *   start:node also vs two GETs plus two durable puts to LMDB alone (its raw store: a
 *   pair is two changes, each on disk before it is answered);
 * - `npm run start:node` as keys accumulate (0 → 20,000 keys that keep only their fence).
 * Start times are bench/startup.bench.ts's.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newToken } from "@holdfast/shared";
import { lmdbPersistence } from "../scripts/lmdb-persistence.ts";
import { type StartedServer, startServer } from "../test/start-server.ts";
import { type Floor, trivialHonoApp, trivialWorker } from "./floors.ts";
import { type JsonClient, jsonClient, percentile } from "./http-client.ts";
import { BENCH_RATE_LIMITS, median, ms, ratio, timed } from "./measure.ts";
import type { BenchRow } from "./run.ts";

const QUICK = process.env.BENCH_QUICK === "1";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 200);
const CLIENTS = 32;
const KEYS = QUICK ? 500 : 20_000;

/** Acquire+release-shaped pairs per second: each client loops two POSTs on its own keys. */
async function pairsPerSecond(client: JsonClient, seconds: number, keyPrefix: string): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let pairs = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const grant = await client.post("/v1/locks/acquire", { key: `${keyPrefix}:${worker}:${i % 4}` });
        await client.post("/v1/locks/release", { lockId: String(grant.body.lockId ?? "x") });
        pairs++;
      }
    }),
  );
  return pairs / ((performance.now() - started) / 1000);
}

async function sequentialPair(client: JsonClient, i: number): Promise<void> {
  const grant = await client.post("/v1/locks/acquire", { key: `seq:${i % 16}` });
  await client.post("/v1/locks/release", { lockId: String(grant.body.lockId ?? "x") });
}

async function getTime(url: string): Promise<void> {
  await (await fetch(`${url}/v1/time`)).json();
}

interface Target {
  label: string;
  floorLabel: string;
  script: string;
  server?: StartedServer;
  floor?: Floor;
  pairs: number[];
  floorPairs: number[];
  sequential: number[];
  time: number[];
}

/** One durable put to LMDB as start:node opens it, p50: its raw store. */
async function rawPut(dir: string): Promise<number> {
  const persistence = lmdbPersistence(dir);
  try {
    // A record as an acquire leaves it: one holder.
    const times = await timed(PAIRS, async (i) => {
      const holder = { token: newToken(), mode: "exclusive" as const, permits: 1, fence: i + 1 };
      const now = Date.now();
      await persistence.save(`raw${i % 16}`, {
        tenant: "bench",
        key: `raw${i % 16}`,
        fence: i + 1,
        limit: null,
        holders: [{ ...holder, acquiredAtMs: now, expiresAtMs: now + 30_000 }],
      });
    });
    return percentile(times, 50);
  } finally {
    await persistence.close();
  }
}

export default async function serversBench(): Promise<BenchRow[]> {
  const dataDirs: string[] = [];
  const rawPuts: number[] = [];
  const targets: Target[] = [
    { label: "npm run start:node", floorLabel: "a trivial Hono app on the same Node", script: "scripts/start-node.ts" },
    {
      label: "npm start (workerd, Durable Objects)",
      floorLabel: "a trivial Worker under the same Miniflare",
      script: "scripts/start.ts",
    },
  ].map((target) => ({ ...target, pairs: [], floorPairs: [], sequential: [], time: [] }));
  try {
    for (const target of targets) {
      const dataDir = mkdtempSync(join(tmpdir(), "holdfast-bench-servers-"));
      dataDirs.push(dataDir);
      target.server = await startServer(
        { HOLDFAST_DATA_DIR: dataDir, HOLDFAST_TOKEN: "bench", HOLDFAST_RATE_LIMITS: BENCH_RATE_LIMITS },
        target.script,
      );
      target.floor = target.script.endsWith("start-node.ts") ? await trivialHonoApp() : await trivialWorker();
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of targets) {
        const server = target.server as StartedServer;
        const floor = target.floor as Floor;
        const client = jsonClient(server.url, "bench");
        const floorClient = jsonClient(floor.url, "bench");
        try {
          target.floorPairs.push(await pairsPerSecond(floorClient, SECONDS, "floor"));
          target.pairs.push(await pairsPerSecond(client, SECONDS, `load${round}`));
          target.time.push(percentile(await timed(PAIRS, () => getTime(server.url)), 50));
          target.sequential.push(percentile(await timed(PAIRS, (i) => sequentialPair(client, i)), 50));
          if (target.script.endsWith("start-node.ts")) {
            const dir = mkdtempSync(join(tmpdir(), "holdfast-bench-raw-lmdb-"));
            dataDirs.push(dir);
            rawPuts.push(await rawPut(dir));
          }
        } finally {
          client.close();
          floorClient.close();
        }
      }
    }
    const rows: BenchRow[] = [];
    for (const target of targets) {
      const pairs = median(target.pairs);
      const floor = median(target.floorPairs);
      rows.push(
        {
          name: `uncontended acquire+release pairs/s, ${CLIENTS} clients, ${target.label}`,
          value: pairs.toFixed(0),
          goal: target.script.endsWith("start-node.ts") ? "≥ 0.5× floor" : "≥ 0.25× floor",
          note: `${ratio(pairs, floor)} ${target.floorLabel} (${floor.toFixed(0)} pairs/s)`,
        },
        {
          name: `one sequential acquire+release, ${target.label}`,
          value: ms(median(target.sequential)),
          goal: "≤ 4× one GET /v1/time",
          note: `${ratio(median(target.sequential), median(target.time))} one GET /v1/time (${ms(median(target.time))})${
            target.script.endsWith("start-node.ts")
              ? `; ${ratio(median(target.sequential), 2 * median(target.time) + 2 * median(rawPuts))} two GETs plus two durable LMDB puts alone (one put ${ms(median(rawPuts))})`
              : '; see the raw store in "where npm start\'s time goes"'
          }`,
        },
      );
    }
    rows.push(...(await keysAccumulate(targets[0] as Target)));
    return rows;
  } finally {
    for (const target of targets) {
      await target.server?.stop();
      await target.floor?.stop();
    }
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}

/** start:node's pairs/s with an empty store, then with KEYS keys that keep their fence. */
async function keysAccumulate(target: Target): Promise<BenchRow[]> {
  const server = target.server as StartedServer;
  const client = jsonClient(server.url, "bench");
  try {
    const empty = await pairsPerSecond(client, SECONDS, "accumulate-before");
    const next = { i: 0 };
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let i = next.i++; i < KEYS; i = next.i++) {
          const grant = await client.post("/v1/locks/acquire", { key: `filler:${i}` });
          await client.post("/v1/locks/release", { lockId: String(grant.body.lockId ?? "x") });
        }
      }),
    );
    const full = await pairsPerSecond(client, SECONDS, "accumulate-after");
    return [
      {
        name: `npm run start:node pairs/s as keys accumulate (0 → ${KEYS} keys)`,
        value: `${empty.toFixed(0)} → ${full.toFixed(0)}`,
        goal: "≤ 10% drop",
        note: `${((1 - full / empty) * 100).toFixed(0)}% drop`,
      },
    ];
  } finally {
    client.close();
  }
}
