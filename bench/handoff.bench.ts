/**
 * Edge issue benchmark, through HTTP against `npm start` (the Worker under workerd with
 * the Durable Object backend, via wrangler dev): 16 contenders on one key with
 * server-side waiting vs. client polling, and uncontended acquire+release pairs/s.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../test/start-server.ts";
import { type ContentionResult, pollingAcquirer, runContention, waitingAcquirer } from "./contention.ts";
import { jsonClient } from "./http-client.ts";
import type { BenchRow } from "./run.ts";

const CONTENDERS = 16;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);

function rows(label: string, result: ContentionResult): BenchRow[] {
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  return [
    { name: `${label}: handoff p50`, value: ms(result.handoffP50), goal: "≤ 1 ms (waiting)" },
    { name: `${label}: handoff p99`, value: ms(result.handoffP99), goal: "≤ 3 ms (waiting)" },
    { name: `${label}: grants/s`, value: result.grantsPerSecond.toFixed(0), goal: "≥ 600 (waiting)" },
    {
      name: `${label}: fairness (fewest/most grants)`,
      value: result.fairness.toFixed(2),
      goal: "≥ 0.9 (waiting)",
      note: `fewest ${result.fewest}, most ${result.most}, ${result.grants} grants`,
    },
  ];
}

export default async function handoffBench(): Promise<BenchRow[]> {
  const dataDir = mkdtempSync(join(tmpdir(), "holdfast-bench-"));
  const server = await startServer({ HOLDFAST_DATA_DIR: dataDir, HOLDFAST_TOKEN: "bench" });
  const client = jsonClient(server.url, "bench");
  try {
    // Warm up the Worker, the object and the connections.
    await runContention(client, { contenders: CONTENDERS, seconds: 1, holdMs: 1, acquire: waitingAcquirer });
    const waiting = await runContention(client, {
      contenders: CONTENDERS,
      seconds: SECONDS,
      holdMs: 1,
      acquire: waitingAcquirer,
    });
    const polling = await runContention(client, {
      contenders: CONTENDERS,
      seconds: SECONDS,
      holdMs: 1,
      acquire: pollingAcquirer,
    });
    const pairs = await uncontendedPairs(client, 3);
    const where = "durable-object, npm start (Miniflare)";
    return [
      ...rows(`${CONTENDERS} contenders, server-side waiting (${where})`, waiting),
      ...rows(`${CONTENDERS} contenders, client polling 100 ms exp. equal jitter (${where})`, polling),
      { name: `uncontended acquire+release pairs/s, 1 client (${where})`, value: pairs.toFixed(0) },
    ];
  } finally {
    client.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
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
