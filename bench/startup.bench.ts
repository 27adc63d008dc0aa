/**
 * Time from spawning each start command (as package.json runs it: node with tsx's ESM
 * loader) to its banner, which it prints once /health answers, beside the same for a
 * trivial server of its kind, interleaved round by round:
 * - `npm run start:node` vs a trivial Hono app on @hono/node-server;
 * - `npm start` (workerd, Durable Objects) as a restart, its build cache warm (what a
 *   second `npm start` does), vs a trivial Worker under the same Miniflare;
 * - `npm start` with an empty build cache (HOLDFAST_CACHE_DIR): the first start after a
 *   change, which bundles the Worker and asks wrangler for its options.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../test/start-server.ts";
import { BENCH_RATE_LIMITS, median, ms, ratio } from "./measure.ts";
import type { BenchRow } from "./run.ts";

const QUICK = process.env.BENCH_QUICK === "1";
// A start is short and noisy: at least five rounds.
const ROUNDS = QUICK ? 1 : Math.max(5, Number(process.env.BENCH_ROUNDS ?? 3));

interface Start {
  label: string;
  script: string;
  /** A fresh build cache for every start. */
  coldCache?: boolean;
  samples: number[];
}

async function timeStart(start: Start, scratch: string): Promise<number> {
  const dataDir = mkdtempSync(join(scratch, "data-"));
  const cacheDir = start.coldCache ? { HOLDFAST_CACHE_DIR: mkdtempSync(join(scratch, "cache-")) } : {};
  const started = performance.now();
  const server = await startServer(
    { HOLDFAST_DATA_DIR: dataDir, HOLDFAST_TOKEN: "bench", HOLDFAST_RATE_LIMITS: BENCH_RATE_LIMITS, ...cacheDir },
    start.script,
  );
  const elapsed = performance.now() - started;
  await server.stop();
  return elapsed;
}

export default async function startupBench(): Promise<BenchRow[]> {
  const starts: Start[] = [
    { label: "npm run start:node", script: "scripts/start-node.ts", samples: [] },
    { label: "a trivial Hono app on the same Node (floor)", script: "bench/startup/trivial-node.ts", samples: [] },
    { label: "npm start (workerd, Durable Objects), a restart", script: "scripts/start.ts", samples: [] },
    {
      label: "a trivial Worker under the same Miniflare (floor)",
      script: "bench/startup/trivial-worker.ts",
      samples: [],
    },
    {
      label: "npm start, first start after a change (empty build cache)",
      script: "scripts/start.ts",
      coldCache: true,
      samples: [],
    },
  ];
  const scratch = mkdtempSync(join(tmpdir(), "holdfast-bench-startup-"));
  try {
    // One start of each first, unmeasured: the warm restart needs a cache to be warm.
    if (!QUICK) for (const start of starts) await timeStart(start, scratch);
    for (let round = 0; round < ROUNDS; round++) {
      for (const start of starts) start.samples.push(await timeStart(start, scratch));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const [node, nodeFloor, worker, workerFloor, cold] = starts.map((start) => median(start.samples)) as number[] &
    [number, number, number, number, number];
  const row = (label: string, value: number, floor: number, floorLabel: string): BenchRow => ({
    name: `${label} to its banner (first /health answered)`,
    value: ms(value),
    goal: "≤ 2 s",
    note: `${ratio(value, floor)} ${floorLabel} (${ms(floor)}); median of ${ROUNDS} interleaved starts`,
  });
  return [
    row("npm run start:node", node, nodeFloor, "a trivial Hono app started the same way"),
    row(
      "npm start (workerd, Durable Objects), a restart",
      worker,
      workerFloor,
      "a trivial Worker under the same Miniflare",
    ),
    row(
      "npm start, first start after a change (empty build cache)",
      cold,
      workerFloor,
      "a trivial Worker under the same Miniflare",
    ),
  ];
}
