/**
 * Issue 10's server rows, each against its floor in the same run:
 * - uncontended acquire+release pairs/s with 32 keep-alive clients: `npm run start:node`
 *   vs a trivial Hono app on the same Node, `npm start` (workerd, Durable Objects) vs a
 *   trivial Worker under the same Miniflare;
 * - one sequential acquire+release vs one `GET /v1/time` on the same server, and for
 *   start:node also vs two GETs plus two durable appends to a log file alone (its raw
 *   store: a pair is two changes, each on disk before it is answered);
 * - `npm run start:node` as keys accumulate (0 → 20,000 keys that keep only their fence).
 * Start times are bench/startup.bench.ts's.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newToken } from "@holdfast/shared";
import { LogWriter } from "../node/src/journal/log-writer.ts";
import { encodeLine } from "../node/src/journal/records.ts";
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

/** A benchmarked server's settings: its own data dir, token "bench", no rate limit in the way. */
const serverEnv = (dataDir: string) => ({
  HOLDFAST_DATA_DIR: dataDir,
  HOLDFAST_TOKEN: "bench",
  HOLDFAST_RATE_LIMITS: BENCH_RATE_LIMITS,
});

/** One record appended to a log file and fdatasynced, p50: start:node's raw store. */
async function rawAppend(dir: string): Promise<number> {
  const log = await LogWriter.create(join(dir, "log-1"));
  try {
    // A record as an acquire leaves it: one holder.
    const times = await timed(PAIRS, async (i) => {
      const holder = { token: newToken(), mode: "exclusive" as const, permits: 1, fence: i + 1 };
      const now = Date.now();
      const line = encodeLine(`raw${i % 16}`, {
        tenant: "bench",
        key: `raw${i % 16}`,
        fence: i + 1,
        limit: null,
        holders: [{ ...holder, acquiredAtMs: now, expiresAtMs: now + 30_000 }],
      });
      await log.appendDurably(Buffer.from(line));
    });
    return percentile(times, 50);
  } finally {
    await log.close();
  }
}

export default async function serversBench(): Promise<BenchRow[]> {
  const dataDirs: string[] = [];
  const rawAppends: number[] = [];
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
      target.server = await startServer(serverEnv(dataDir), target.script);
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
            const dir = mkdtempSync(join(tmpdir(), "holdfast-bench-raw-log-"));
            dataDirs.push(dir);
            rawAppends.push(await rawAppend(dir));
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
              ? `; ${ratio(median(target.sequential), 2 * median(target.time) + 2 * median(rawAppends))} two GETs plus two durable appends alone (one append ${ms(median(rawAppends))})`
              : '; see the raw store in "where npm start\'s time goes"'
          }`,
        },
      );
    }
    rows.push(...(await keysAccumulate()));
    return rows;
  } finally {
    for (const target of targets) {
      await target.server?.stop();
      await target.floor?.stop();
    }
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}

const dropOf = (ratio: number) =>
  ratio <= 1 ? `${((1 - ratio) * 100).toFixed(0)}% drop` : `no drop (${((ratio - 1) * 100).toFixed(0)}% faster)`;

/**
 * start:node with an empty store against one that holds KEYS keys (kept as their fence):
 * two servers side by side, rounds interleaved in alternating order, and the drop taken
 * as the median of each round's ratio, which the machine's drift over the run cancels out of.
 */
async function keysAccumulate(): Promise<BenchRow[]> {
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), "holdfast-bench-accumulate-")));
  const servers = await Promise.all(dirs.map((dir) => startServer(serverEnv(dir), "scripts/start-node.ts")));
  const [empty, full] = servers.map((server) => jsonClient(server.url, "bench")) as [JsonClient, JsonClient];
  try {
    const next = { i: 0 };
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let i = next.i++; i < KEYS; i = next.i++) {
          const grant = await full.post("/v1/locks/acquire", { key: `filler:${i}` });
          await full.post("/v1/locks/release", { lockId: String(grant.body.lockId ?? "x") });
        }
      }),
    );
    const rounds = { empty: [] as number[], full: [] as number[], ratio: [] as number[] };
    for (let round = 0; round < (QUICK ? ROUNDS : Math.max(ROUNDS, 5)); round++) {
      const order = round % 2 === 0 ? (["empty", "full"] as const) : (["full", "empty"] as const);
      for (const which of order) {
        rounds[which].push(await pairsPerSecond(which === "empty" ? empty : full, SECONDS, `accumulate${round}`));
      }
      rounds.ratio.push((rounds.full.at(-1) as number) / (rounds.empty.at(-1) as number));
    }
    return [
      {
        name: `npm run start:node pairs/s as keys accumulate (0 → ${KEYS} keys)`,
        value: `${median(rounds.empty).toFixed(0)} → ${median(rounds.full).toFixed(0)}`,
        goal: "≤ 10% drop",
        note: `${dropOf(median(rounds.ratio))} (median of ${rounds.ratio.length} interleaved rounds' ratios: ${rounds.ratio.map((r) => r.toFixed(2)).join(", ")})`,
      },
    ];
  } finally {
    empty.close();
    full.close();
    for (const server of servers) await server.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
