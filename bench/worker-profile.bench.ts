/**
 * Where `npm start`'s time goes (issue 10, item 3), measured by peeling layers off the
 * same Worker under the same Miniflare, each on a direct socket as `npm start` serves it:
 * 1. a trivial Worker (the floor: workerd, the socket, the client, JSON in and out);
 * 2. the Holdfast app alone, over a memory backend in the isolate (routing, auth,
 *    validation, key ids, envelopes), against 1;
 * 3. a trivial Worker that makes one call to a trivial Durable Object per request (the
 *    floor of any design with an object per key), against 1;
 * 4. the same trivial object writing one small record to SQLite on disk per call (the
 *    raw store: the floor of any design that answers only once a change is durable),
 *    against 3;
 * 5. the real Worker with its Durable Object keeping state in memory only (Holdfast's
 *    object: its lock logic, its fair queue, the RPC's arguments), against 3;
 * 6. the real Worker with its Durable Object writing to SQLite on disk, as `npm start`
 *    does (the storage write and the commit the reply waits for), against 5, and set
 *    beside 4.
 * A layer's cost is the difference in time per pair (1 / pairs per second) with 32
 * clients, and per sequential pair; the hot key (16 waiters holding 1 ms) is run on 4
 * and 5. Medians of ROUNDS interleaved rounds.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, type MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { buildWorkerEntry } from "../scripts/build-worker.ts";
import { type ContentionResult, runContention, waitingAcquirer } from "./contention.ts";
import { trivialWorker } from "./floors.ts";
import { type JsonClient, jsonClient, percentile } from "./http-client.ts";
import { BENCH_RATE_LIMITS, median, medianOf, ms, ratio, timed } from "./measure.ts";
import type { BenchRow } from "./run.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 200);
const CLIENTS = 32;

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

interface Layer {
  label: string;
  /** The layer it adds to. */
  base: number;
  url: string;
  stop(): Promise<void>;
}

/**
 * One call to an object per request, named by the key (acquire) or by the "lockId" it
 * answered (release); with `write`, the object first puts one small record, as durably as
 * Holdfast's object does (the reply waits for the commit).
 */
const trivialObject = (write: boolean) => `
import { DurableObject } from "cloudflare:workers";
export class Echo extends DurableObject {
  answer(name) {
    ${write ? `this.ctx.storage.kv.put("state", { name, atMs: Date.now() });` : ""}
    return { ok: true, lockId: name, fence: "000000000000001", serverTimeMs: Date.now() };
  }
}
export default { async fetch(request, env) {
  const body = request.method === "POST" ? await request.json() : {};
  const name = String(body.key ?? body.lockId ?? "x");
  return Response.json(await env.ECHO.get(env.ECHO.idFromName(name)).answer(name));
} };`;

async function serveWorker(dir: string, entry: string, extra: Partial<MiniflareOptions>): Promise<Miniflare> {
  const script = join(dir, `${entry.split("/").pop()?.replace(/\.ts$/, "")}.js`);
  await buildWorkerEntry(entry, script);
  const { workerOptions } = unstable_getMiniflareWorkerOptions("wrangler.toml");
  const miniflare = new Miniflare({
    ...workerOptions,
    modules: true,
    scriptPath: script,
    modulesRoot: dir,
    bindings: {
      ...workerOptions.bindings,
      HOLDFAST_TOKEN: "bench",
      HOLDFAST_CORS_ORIGINS: "",
      HOLDFAST_RATE_LIMITS: BENCH_RATE_LIMITS,
    },
    host: "127.0.0.1",
    port: 0,
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    ...extra,
  } as MiniflareOptions);
  await miniflare.ready;
  return miniflare;
}

async function serveTrivialObject(write: boolean, persistTo?: string): Promise<Miniflare> {
  const miniflare = new Miniflare({
    modules: true,
    script: trivialObject(write),
    compatibilityDate: "2026-04-01",
    durableObjects: { ECHO: { className: "Echo", useSQLite: true } },
    ...(persistTo ? { durableObjectsPersist: persistTo } : {}),
    host: "127.0.0.1",
    port: 0,
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  });
  await miniflare.ready;
  return miniflare;
}

async function layers(dir: string): Promise<Layer[]> {
  const floor = await trivialWorker();
  const started: Array<[string, number, Miniflare]> = [
    [
      "the Holdfast app alone, memory backend in the isolate",
      0,
      await serveWorker(dir, "bench/workers/app-only.ts", {}),
    ],
    ["a trivial Worker calling a trivial Durable Object", 0, await serveTrivialObject(false)],
    [
      "the same trivial object writing one record per call to SQLite on disk (the raw store)",
      2,
      await serveTrivialObject(true, join(dir, "raw-store")),
    ],
    [
      "Holdfast's Worker and Durable Object, state in memory only",
      2,
      await serveWorker(dir, "bench/workers/volatile.ts", {
        durableObjects: {
          LOCKS: { className: "VolatileLockObject", useSQLite: true },
          RATE_LIMITS: { className: "RateLimitObject", useSQLite: true },
        },
      }),
    ],
    [
      "+ its SQLite storage on disk (= npm start)",
      4,
      await serveWorker(dir, "edge/src/worker.ts", { durableObjectsPersist: join(dir, "durable-objects") }),
    ],
  ];
  return [
    { label: "a trivial Worker (floor)", base: 0, url: floor.url, stop: floor.stop },
    ...(await Promise.all(
      started.map(async ([label, base, miniflare]) => ({
        label,
        base: base,
        url: (await miniflare.unsafeGetDirectURL()).origin,
        stop: () => miniflare.dispose(),
      })),
    )),
  ];
}

/** One 4 KB page (a SQLite WAL frame's size) written and fdatasynced on the disk the objects use, p50. */
async function pageSync(dir: string): Promise<number> {
  const handle = await open(join(dir, "page-sync"), "w");
  const page = Buffer.alloc(4096 + 24, 1);
  try {
    const times = await timed(PAIRS, async (i) => {
      await handle.write(page, 0, page.length, i * page.length);
      await handle.datasync();
    });
    return percentile(times, 50);
  } finally {
    await handle.close();
  }
}

async function pairsPerSecond(client: JsonClient): Promise<number> {
  const deadline = performance.now() + SECONDS * 1000;
  let pairs = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const grant = await client.post("/v1/locks/acquire", { key: `profile:${worker}:${i % 4}` });
        await client.post("/v1/locks/release", { lockId: String(grant.body.lockId ?? "x") });
        pairs++;
      }
    }),
  );
  return pairs / ((performance.now() - started) / 1000);
}

export default async function workerProfileBench(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "holdfast-bench-profile-"));
  const stack = await layers(dir);
  const rates: number[][] = stack.map(() => []);
  const sequential: number[][] = stack.map(() => []);
  const hot: ContentionResult[][] = [[], []];
  const pageSyncs: number[] = [];
  const firstHot = stack.length - 2;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      pageSyncs.push(await pageSync(dir));
      for (const [i, layer] of stack.entries()) {
        const client = jsonClient(layer.url, "bench");
        try {
          rates[i]?.push(await pairsPerSecond(client));
          const times = await timed(PAIRS, async (n) => {
            const grant = await client.post("/v1/locks/acquire", { key: `seq:${n % 16}` });
            await client.post("/v1/locks/release", { lockId: String(grant.body.lockId ?? "x") });
          });
          sequential[i]?.push(percentile(times, 50));
          if (i >= firstHot) {
            hot[i - firstHot]?.push(
              await runContention(client, { contenders: 16, seconds: SECONDS, holdMs: 1, acquire: waitingAcquirer }),
            );
          }
        } finally {
          client.close();
        }
      }
    }
  } finally {
    for (const layer of stack) await layer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const rate = (i: number) => median(rates[i] ?? []);
  const perPairUs = (i: number) => 1e6 / rate(i);
  const seq = (i: number) => median(sequential[i] ?? []);
  const rows: BenchRow[] = stack.map((layer, i) => {
    const base = stack[layer.base] as Layer;
    return {
      name: `where npm start's time goes, ${CLIENTS} clients: ${layer.label}`,
      value: `${rate(i).toFixed(0)} pairs/s`,
      note:
        i === 0
          ? `${perPairUs(0).toFixed(0)} µs per pair; sequential pair p50 ${ms(seq(0))}`
          : `${ratio(rate(i), rate(0))} the floor; ${(perPairUs(i) - perPairUs(layer.base)).toFixed(0)} µs per pair more than "${base.label}" (${perPairUs(i).toFixed(0)} µs in all); sequential pair p50 ${ms(seq(i))} (${seq(i) >= seq(layer.base) ? "+" : ""}${ms(seq(i) - seq(layer.base))})`,
    };
  });
  const rawStore = 3;
  const durableLayer = stack.length - 1;
  rows.push({
    name: `where npm start's time goes, ${CLIENTS} clients: npm start against the raw store`,
    value: ratio(rate(durableLayer), rate(rawStore)),
    note: `${rate(durableLayer).toFixed(0)} vs ${rate(rawStore).toFixed(0)} pairs/s; the raw store is ${ratio(rate(rawStore), rate(0))} the trivial Worker, the ceiling of a reply that waits for its commit`,
  });
  const oneClient = 1000 / seq(rawStore);
  const sync = median(pageSyncs);
  rows.push(
    {
      name: `where npm start's time goes: the raw store, ${CLIENTS} clients against one client back to back`,
      value: ratio(rate(rawStore), oneClient),
      note: `${rate(rawStore).toFixed(0)} vs ${oneClient.toFixed(0)} pairs/s: concurrency buys nothing, because workerd commits one object at a time on its one thread (strace: a 4 KB WAL frame and an fsync per commit, none in parallel)`,
    },
    {
      name: "where npm start's time goes: one 4 KB page written and fdatasynced on the same disk",
      value: ms(sync),
      note: `two commits per pair, one at a time: at most ${(1000 / (2 * sync)).toFixed(0)} pairs/s from the disk alone, ${ratio(1000 / (2 * sync), rate(0))} the trivial Worker; workerd's commit path adds ${ms((perPairUs(rawStore) - perPairUs(2)) / 2000 - sync)} a commit beyond it (the raw store against the trivial object, halved, less the fdatasync)`,
    },
  );
  const [volatile, durable] = hot.map((results) => medianOf(results));
  if (volatile && durable) {
    rows.push(
      {
        name: "where the handoff's time goes, 16 waiters, hold 1 ms: Durable Object in memory only",
        value: `p50 ${ms(volatile.handoffP50)}, p99 ${ms(volatile.handoffP99)}, ${volatile.grantsPerSecond.toFixed(0)} grants/s`,
        note: `fairness ${volatile.fairness.toFixed(2)}`,
      },
      {
        name: "where the handoff's time goes, 16 waiters, hold 1 ms: with SQLite on disk (= npm start)",
        value: `p50 ${ms(durable.handoffP50)}, p99 ${ms(durable.handoffP99)}, ${durable.grantsPerSecond.toFixed(0)} grants/s`,
        note: `storage adds ${ms(durable.handoffP50 - volatile.handoffP50)} to the p50 handoff; fairness ${durable.fairness.toFixed(2)}`,
      },
    );
  }
  return rows;
}
