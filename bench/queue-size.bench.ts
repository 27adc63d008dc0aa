/**
 * What a long queue costs each store (rule 9's third promise): one key with an exclusive
 * holder and n exclusive waiters queued behind it, n = 10 / 1,000 / 10,000.
 * - release: the store step that releases the holder and grants the head, with n waiting,
 *   against a release with nobody waiting on the same store in the same run (goal ≤ 2×);
 * - enqueue: the store step that queues the nth waiter against the one that queues the
 *   first (goal ≤ 2×).
 * Store steps are timed straight from Node, without the HTTP layer: memory (in process),
 * Upstash (its REST stand-in over the local Redis), Neon (its stand-in over the local
 * Postgres) and Firestore (the emulator). Durable Objects' steps run in workerd, so theirs
 * are timed over HTTP (scale/served-queue.ts says how), and so is the memory backend as
 * `npm run start:node` serves it, beside its in-process rows. Each figure is the median,
 * over ROUNDS interleaved rounds (every size in each), of the median of MEASURED steps.
 */
import { randomUUID } from "node:crypto";
import { Firestore } from "@google-cloud/firestore";
import {
  type AcquireRequest,
  type Backend,
  createMemoryBackend,
  keyIdOf,
  type LockRef,
  newToken,
} from "@holdfast/shared";
import ws from "ws";
import { runAcquire as neonAcquire } from "../edge/src/neon/acquire.ts";
import { createContext as neonContext } from "../edge/src/neon/context.ts";
import { runRelease as neonRelease } from "../edge/src/neon/release.ts";
import { setupSchema } from "../edge/src/neon/schema/migrate.ts";
import { runAcquire as upstashAcquire } from "../edge/src/upstash/acquire.ts";
import { createContext as upstashContext } from "../edge/src/upstash/context.ts";
import { runRelease as upstashRelease } from "../edge/src/upstash/release.ts";
import { runAcquire as firestoreAcquire } from "../functions/src/firestore/acquire.ts";
import { createContext as firestoreContext } from "../functions/src/firestore/context.ts";
import { runRelease as firestoreRelease } from "../functions/src/firestore/release.ts";
import { DEMO_PROJECT, OFFLINE_ENV, startFirestoreEmulator } from "../local/firestore-emulator.ts";
import { spawnNeonStandin } from "../local/standins/spawn-neon.ts";
import { spawnUpstashStandin } from "../local/standins/spawn-upstash.ts";
import { median, ratio } from "./measure.ts";
import type { BenchRow } from "./run.ts";
import { servedQueueSteps } from "./scale/served-queue.ts";

const QUICK = process.env.BENCH_QUICK === "1";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MEASURED = QUICK ? 3 : 7;
const WAIT_MS = 600_000;
const POSTGRES_URL = process.env.POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** One store's steps: queue a request (it must queue), acquire once, release. */
export interface QueueSteps {
  name: string;
  sizes: number[];
  /** Why a size of the full run is left out, if one is. */
  skipped?: string;
  enqueue(request: AcquireRequest): Promise<void>;
  acquire(request: AcquireRequest): Promise<void>;
  release(ref: LockRef): Promise<void>;
  /** Settles once this holder's grant has reached the client (over HTTP): not part of its release's time. */
  ready?(ref: LockRef): Promise<void>;
  /** Lets go of the waiters a size leaves queued. */
  drain?(): Promise<void>;
  close(): Promise<void>;
}

/** Milliseconds, with microseconds where the store answers in microseconds (memory). */
const ms = (value: number) => (value < 0.1 ? `${(value * 1000).toFixed(1)} µs` : `${value.toFixed(2)} ms`);

async function key(label: string) {
  const name = `queue-size:${label}:${newToken()}`;
  const keyId = await keyIdOf("bench", name);
  const request = (): AcquireRequest => ({
    tenant: "bench",
    key: name,
    keyId,
    token: newToken(),
    ttlMs: WAIT_MS,
    mode: "exclusive",
    permits: 1,
    limit: null,
  });
  return { request, ref: (token: string): LockRef => ({ tenant: "bench", keyId, token }) };
}

async function timedStep(step: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await step();
  return performance.now() - started;
}

/** Release with nobody waiting: acquire, then time the release. */
async function emptyRelease(steps: QueueSteps): Promise<number> {
  const k = await key("empty");
  const times: number[] = [];
  for (let i = 0; i < MEASURED; i++) {
    const request = k.request();
    await steps.acquire(request);
    times.push(await timedStep(() => steps.release(k.ref(request.token))));
  }
  return median(times);
}

/** A holder and n waiters: the first and last enqueues timed, then releases that each grant the head. */
async function queueOf(steps: QueueSteps, n: number) {
  const k = await key(`n${n}`);
  const holder = k.request();
  await steps.acquire(holder);
  const waiters: AcquireRequest[] = [];
  const first: number[] = [];
  const last: number[] = [];
  for (let i = 0; i < n; i++) {
    const request = k.request();
    waiters.push(request);
    const time = await timedStep(() => steps.enqueue(request));
    if (i < MEASURED) first.push(time);
    if (i >= n - MEASURED) last.push(time);
  }
  const releases: number[] = [];
  let holding = holder.token;
  for (let i = 0; i < MEASURED && i < n; i++) {
    const token = holding;
    await steps.ready?.(k.ref(token));
    releases.push(await timedStep(() => steps.release(k.ref(token))));
    holding = (waiters[i] as AcquireRequest).token;
  }
  await steps.drain?.();
  return { enqueueFirst: median(first), enqueueLast: median(last), release: median(releases) };
}

async function rowsFor(steps: QueueSteps): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  try {
    // Warm-up (JIT, connections, script cache), then the floor measured around every size.
    await queueOf(steps, MEASURED);
    const floors = [await emptyRelease(steps)];
    const rounds = new Map<number, Awaited<ReturnType<typeof queueOf>>[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of steps.sizes) {
        rounds.set(n, [...(rounds.get(n) ?? []), await queueOf(steps, n)]);
        floors.push(await emptyRelease(steps));
      }
    }
    const costs = steps.sizes.map((n) => {
      const measured = rounds.get(n) ?? [];
      const of = (field: "release" | "enqueueFirst" | "enqueueLast") => median(measured.map((m) => m[field]));
      return { n, release: of("release"), enqueueFirst: of("enqueueFirst"), enqueueLast: of("enqueueLast") };
    });
    const empty = median(floors);
    rows.push({
      name: `${steps.name}: release, nobody waiting, p50`,
      value: ms(empty),
      note: "the floor of the rows below: medians measured before and after each size",
    });
    for (const { n, ...cost } of costs) {
      rows.push({
        name: `${steps.name}: release that grants the head, ${n.toLocaleString("en")} waiting, p50`,
        value: ms(cost.release),
        goal: "≤ 2× nobody waiting",
        note: `${ratio(cost.release, empty)} the release with nobody waiting (${ms(empty)}, same run)`,
      });
      rows.push({
        name: `${steps.name}: enqueue the ${n.toLocaleString("en")}th waiter, p50`,
        value: ms(cost.enqueueLast),
        goal: "≤ 2× the first",
        note: `${ratio(cost.enqueueLast, cost.enqueueFirst)} the first waiter's (${ms(cost.enqueueFirst)})`,
      });
    }
    if (steps.skipped) rows.push({ name: `${steps.name}: larger queues`, value: "not run", note: steps.skipped });
  } finally {
    await steps.close();
  }
  return rows;
}

function memorySteps(): QueueSteps {
  const backend: Backend = createMemoryBackend({ bounds: { waiters: 20_000 } });
  // One signal per waiter: thousands of listeners on one signal would be the cost measured.
  const leaving: AbortController[] = [];
  return {
    name: "memory",
    sizes: QUICK ? [10, 100] : [10, 1_000, 10_000],
    enqueue: (request) =>
      new Promise<void>((queued, failed) => {
        const leave = new AbortController();
        leaving.push(leave);
        let isQueued = false;
        const waiting = backend.acquireQueued?.(request, {
          waitMs: WAIT_MS,
          signal: leave.signal,
          onQueued: () => {
            isQueued = true;
            queued();
          },
        });
        // The waiter's answer comes during a measured release: only a failure costs an Error
        // (its stack trace alone would be a few µs of the release's time).
        waiting?.then(() => {
          if (!isQueued) failed(new Error("answered instead of queued"));
        }, failed);
      }),
    acquire: async (request) => {
      if (!(await backend.acquire(request)).ok) throw new Error("not granted");
    },
    release: async (ref) => {
      if (!(await backend.release(ref)).ok) throw new Error("not released");
    },
    close: async () => {
      for (const leave of leaving) leave.abort();
    },
  };
}

async function upstashSteps(): Promise<QueueSteps> {
  const standin = await spawnUpstashStandin();
  const ctx = upstashContext({
    url: standin.url,
    token: standin.token,
    prefix: `bench-queue-${randomUUID()}`,
    bounds: { waiters: 20_000 },
  });
  return {
    name: "upstash",
    sizes: QUICK ? [10, 100] : [10, 1_000, 10_000],
    enqueue: async (request) => {
      if (!(await upstashAcquire(ctx, request, WAIT_MS)).queued) throw new Error("not queued");
    },
    acquire: async (request) => {
      const status = await upstashAcquire(ctx, request, 0);
      if (status.queued || !status.result.ok) throw new Error("not granted");
    },
    release: async (ref) => {
      if (!(await upstashRelease(ctx, ref)).ok) throw new Error("not released");
    },
    close: () => standin.stop(),
  };
}

async function neonSteps(): Promise<QueueSteps> {
  const standin = await spawnNeonStandin(POSTGRES_URL);
  const connectionString = `postgres://postgres@${standin.wsProxy}/test`;
  const prefix = `hfq_${randomUUID().replaceAll("-", "").slice(0, 10)}_`;
  await setupSchema({ connectionString, prefix, localProxy: true });
  const ctx = neonContext({
    connectionString,
    prefix,
    localProxy: true,
    webSocketConstructor: ws,
    bounds: { waiters: 20_000 },
  });
  return {
    name: "neon",
    sizes: QUICK ? [10, 100] : [10, 1_000, 10_000],
    enqueue: async (request) => {
      if (!(await neonAcquire(ctx, request, WAIT_MS)).queued) throw new Error("not queued");
    },
    acquire: async (request) => {
      const status = await neonAcquire(ctx, request, 0);
      if (status.queued || !status.result.ok) throw new Error("not granted");
    },
    release: async (ref) => {
      if (!(await neonRelease(ctx, ref)).ok) throw new Error("not released");
    },
    close: () => standin.stop(),
  };
}

async function firestoreSteps(): Promise<QueueSteps> {
  Object.assign(process.env, OFFLINE_ENV);
  const emulator = await startFirestoreEmulator();
  const firestore = new Firestore({ projectId: DEMO_PROJECT, host: emulator.host, ssl: false });
  const ctx = firestoreContext({
    firestore,
    collection: `queue_${randomUUID().replaceAll("-", "")}`,
    bounds: { waiters: 20_000 },
  });
  return {
    name: "firestore",
    sizes: QUICK ? [10, 100] : [10, 1_000, 10_000],
    enqueue: async (request) => {
      if (!(await firestoreAcquire(ctx, request, WAIT_MS)).queued) throw new Error("not queued");
    },
    acquire: async (request) => {
      const status = await firestoreAcquire(ctx, request, 0);
      if (status.queued || !status.result.ok) throw new Error("not granted");
    },
    release: async (ref) => {
      if (!(await firestoreRelease(ctx, ref)).ok) throw new Error("not released");
    },
    close: async () => {
      await ctx.close(1_000);
      await emulator.stop();
    },
  };
}

/** QUEUE_SIZE_STORES=firestore,neon runs only those stores' rows (default: all). */
const STORES = (process.env.QUEUE_SIZE_STORES ?? "memory,memory-served,durable-object,upstash,neon,firestore").split(
  ",",
);

export default async function queueSizeBench(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const sizes = QUICK ? [10, 100] : [10, 1_000, 10_000];
  if (STORES.includes("memory")) rows.push(...(await rowsFor(memorySteps())));
  // The memory backend as deployed, timed over HTTP as Durable Objects' steps are.
  if (STORES.includes("memory-served"))
    rows.push(
      ...(await rowsFor(await servedQueueSteps("memory (start:node, over HTTP)", sizes, "scripts/start-node.ts"))),
    );
  if (STORES.includes("durable-object")) rows.push(...(await rowsFor(await servedQueueSteps("durable-object", sizes))));
  if (STORES.includes("upstash")) rows.push(...(await rowsFor(await upstashSteps())));
  if (STORES.includes("neon")) rows.push(...(await rowsFor(await neonSteps())));
  if (STORES.includes("firestore")) rows.push(...(await rowsFor(await firestoreSteps())));
  return rows;
}
