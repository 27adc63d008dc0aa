/** Measuring helpers shared by the store benchmarks: medians, timings, and peers as contenders. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, keyIdOf, newToken } from "@holdfast/shared";
import { startServer } from "../test/start-server.ts";
import type { Acquirer, ContentionResult } from "./contention.ts";
import { type JsonClient, jsonClient, percentile } from "./http-client.ts";

export const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
export const ms = (value: number) => `${value.toFixed(2)} ms`;
export const ratio = (value: number, floor: number) => `${(value / floor).toFixed(2)}×`;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Times each call, sorted; `pauseMs` idles before each call (outside the timing). */
export async function timed(samples: number, once: (i: number) => Promise<unknown>, pauseMs = 0): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (pauseMs > 0) await sleep(pauseMs);
    const started = performance.now();
    await once(i);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

/** The median of each figure over interleaved rounds. */
export function medianOf(results: ContentionResult[]): ContentionResult {
  const pick = (field: keyof ContentionResult) => median(results.map((result) => result[field]));
  return {
    grants: pick("grants"),
    grantsPerSecond: pick("grantsPerSecond"),
    handoffP50: pick("handoffP50"),
    handoffP99: pick("handoffP99"),
    fewest: pick("fewest"),
    most: pick("most"),
    fairness: pick("fairness"),
  };
}

/** Takes `key` before `deadline` (its own retry or blocking), answering how to let go; null if it gave up. */
export type PeerLock = (key: string, deadline: number) => Promise<(() => Promise<unknown>) | null>;

/**
 * A lock library as a contender of runContention, unchanged: grants are numbered in the
 * order they arrive (one process, so that is grant order), standing in for fences, and
 * the release the benchmark posts goes to the library.
 */
export function asContender(take: PeerLock): { client: JsonClient; acquire: Acquirer } {
  const held = new Map<number, () => Promise<unknown>>();
  let grants = 0;
  return {
    acquire: async (_client, key, deadline) => {
      const release = await take(key, deadline);
      if (!release) return null;
      grants++;
      held.set(grants, release);
      return { fence: grants, lockId: String(grants) };
    },
    client: {
      async post(_path, body) {
        const id = Number((body as { lockId: string }).lockId);
        await held.get(id)?.();
        held.delete(id);
        return { status: 200, body: {} };
      },
      close() {},
    },
  };
}

/**
 * Benchmarks measure the lock path at rates above the default tenant budget
 * (HOLDFAST_RATE_LIMITS): a budget nobody reaches keeps the limiter's work in the
 * measurement without its refusals.
 */
export const BENCH_RATE_LIMITS = JSON.stringify({ "*": { perSecond: 1e9 } });

/** A start command (`npm start` by default) on a fresh data dir, with a keep-alive client for token "bench". */
export async function benchServer(env: Record<string, string> = {}, script?: string) {
  const dataDir = mkdtempSync(join(tmpdir(), "holdfast-bench-"));
  const server = await startServer(
    { HOLDFAST_DATA_DIR: dataDir, HOLDFAST_TOKEN: "bench", HOLDFAST_RATE_LIMITS: BENCH_RATE_LIMITS, ...env },
    script,
  );
  const client = jsonClient(server.url, "bench");
  return {
    server,
    client,
    async stop() {
      client.close();
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Each backend operation once, on one fresh key of tenant "bench", in the order a lock lives. */
export async function eachOperation(
  backend: Backend,
  measure: (name: string, run: () => Promise<unknown>) => Promise<void>,
) {
  const key = `count:${newToken()}`;
  const keyId = await keyIdOf("bench", key);
  const token = newToken();
  const ref = { tenant: "bench", keyId, token };
  const request = { tenant: "bench", key, keyId, token, ttlMs: 10_000, mode: "exclusive" as const, permits: 1 };
  await measure("acquire", () => backend.acquire({ ...request, limit: null }));
  await measure("extend", () => backend.extend(ref, 10_000));
  await measure("owns", () => backend.owns(ref));
  await measure("lookup", () => backend.lookup({ tenant: "bench", key, keyId }));
  await measure("release", () => backend.release(ref));
}
