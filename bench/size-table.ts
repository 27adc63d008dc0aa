/**
 * The hostile-size table of the limits-and-scale work, redone on demand (not part of
 * `npm run bench`: it fills keys to thousands on purpose). For each store at its default
 * bounds, from Node: one key asked for 5,000 shared holders (16 at a time), then an
 * exclusive acquire; one key with an exclusive holder and 2,000 waiting exclusive
 * requests, then its release, each waiter releasing as soon as it is served.
 * Usage: npx tsx bench/size-table.ts [memory|upstash|neon|firestore ...]
 */
import { Firestore } from "@google-cloud/firestore";
import {
  type AcquireResult,
  type Backend,
  createMemoryBackend,
  isLockError,
  keyIdOf,
  newToken,
} from "@holdfast/shared";
import ws from "ws";
import { createNeonBackend } from "../edge/src/neon/backend.ts";
import { setupSchema } from "../edge/src/neon/schema/migrate.ts";
import { createUpstashBackend } from "../edge/src/upstash/backend.ts";
import { createFirestoreBackend } from "../functions/src/firestore/backend.ts";
import { DEMO_PROJECT, OFFLINE_ENV, startFirestoreEmulator } from "../local/firestore-emulator.ts";
import { spawnNeonStandin } from "../local/standins/spawn-neon.ts";
import { spawnUpstashStandin } from "../local/standins/spawn-upstash.ts";

const HOLDERS = 5_000;
const WAITERS = 2_000;
const PARALLEL = 16;
const POSTGRES_URL = process.env.POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

async function inParallel<T>(count: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) results[i] = await task(i);
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return results;
}

/** A step the table needs answered: retried while the store answers 503 (a busy key on Firestore). */
async function settle<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (attempt >= 20 || !isLockError(error) || error.code !== "ServiceUnavailable") throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function keyOf(label: string) {
  const key = `size-table:${label}:${newToken()}`;
  const keyId = await keyIdOf("t", key);
  return {
    lookupRef: { tenant: "t", key, keyId },
    ref: (token: string) => ({ tenant: "t", keyId, token }),
    request: (shared: boolean) => ({
      tenant: "t",
      key,
      keyId,
      token: newToken(),
      ttlMs: 300_000,
      mode: shared ? ("shared" as const) : ("exclusive" as const),
      permits: 1,
      limit: null,
    }),
  };
}

/** Counts answers by what they were: a grant, a bound's refusal, locked, or an error (its code). */
function tally(outcomes: (AcquireResult | unknown)[]): string {
  const counts = new Map<string, number>();
  for (const outcome of outcomes) {
    const result = outcome as AcquireResult;
    const label = isLockError(outcome)
      ? `error ${outcome.code}`
      : result.ok
        ? "granted"
        : result.reason === "capacity"
          ? `refused (${result.bound})`
          : result.reason;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return [...counts].map(([label, count]) => `${count.toLocaleString("en")} ${label}`).join(", ");
}

async function row(name: string, backend: Backend): Promise<string> {
  const many = await keyOf("holders");
  const started = performance.now();
  const holders = await inParallel(HOLDERS, () => backend.acquire(many.request(true)).catch((error) => error));
  const fillSeconds = (performance.now() - started) / 1000;
  const exclusive = await backend.acquire(many.request(false)).catch((error) => error);
  const view = await settle(() => backend.lookup(many.lookupRef));
  const fences = holders.filter((h): h is AcquireResult & { ok: true } => h.ok === true).map((h) => h.fence);
  const unique = new Set(fences).size === fences.length;

  const queue = await keyOf("waiters");
  const writer = await settle(() => backend.acquire(queue.request(false)));
  if (!writer.ok) throw new Error(`${name}: the writer was not granted`);
  const served: number[] = [];
  const answers: Promise<unknown>[] = [];
  await inParallel(WAITERS, async () => {
    const request = queue.request(false);
    await new Promise<void>((settled) => {
      const answer = (backend.acquireQueued as NonNullable<Backend["acquireQueued"]>)(request, {
        waitMs: 120_000,
        signal: new AbortController().signal,
        onQueued: settled,
      }).then(
        async (result) => {
          settled();
          if (result.ok) {
            served.push(result.fence);
            await settle(() => backend.release(queue.ref(result.token)));
          }
          return result;
        },
        (error: unknown) => {
          settled();
          return error;
        },
      );
      answers.push(answer);
    });
  });
  const releaseStarted = performance.now();
  await settle(() => backend.release(queue.ref(writer.token)));
  const releaseMs = performance.now() - releaseStarted;
  const outcomes = await Promise.all(answers);
  // Each waiter releases before the next can be served, so the fences served rise; a grant
  // whose caller had already given up (its wait ran out) leaves a gap.
  const inOrder = served.every((fence, i) => i === 0 || fence > (served[i - 1] as number));
  const gaps = served.length === 0 ? 0 : (served.at(-1) as number) - (served[0] as number) + 1 - served.length;
  return `| ${name} | ${tally(holders)} in ${fillSeconds.toFixed(1)} s; lookup ${view.holders.length.toLocaleString("en")} live; fences unique: ${unique}; exclusive then: ${tally([exclusive])} | ${releaseMs.toFixed(1)} ms | ${tally(outcomes)}; served in fence order: ${inOrder}; fences skipped: ${gaps} |`;
}

const wanted = process.argv.slice(2);
const want = (name: string) => wanted.length === 0 || wanted.includes(name);
const lines = [
  "| store | 5,000 shared holders asked | release with 2,000 asked to wait | waiters |",
  "|---|---|---|---|",
];
if (want("memory")) lines.push(await row("memory", createMemoryBackend()));
if (want("upstash")) {
  const standin = await spawnUpstashStandin();
  try {
    const backend = createUpstashBackend({ url: standin.url, token: standin.token, prefix: `size-${newToken()}` });
    lines.push(await row("upstash", backend));
  } finally {
    await standin.stop();
  }
}
if (want("neon")) {
  const standin = await spawnNeonStandin(POSTGRES_URL);
  try {
    const connectionString = `postgres://postgres@${standin.wsProxy}/test`;
    const prefix = `hfs_${newToken()
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "")
      .slice(0, 10)}_`;
    await setupSchema({ connectionString, prefix, localProxy: true });
    const backend = createNeonBackend({ connectionString, prefix, localProxy: true, webSocketConstructor: ws });
    lines.push(await row("neon", backend));
    await backend.close?.();
  } finally {
    await standin.stop();
  }
}
if (want("firestore")) {
  Object.assign(process.env, OFFLINE_ENV);
  const emulator = await startFirestoreEmulator();
  // The emulator runs in a process group of its own: stopped also when this script is.
  const stopAndExit = () => void emulator.stop().finally(() => process.exit(1));
  process.once("SIGINT", stopAndExit);
  process.once("SIGTERM", stopAndExit);
  try {
    const firestore = new Firestore({ projectId: DEMO_PROJECT, host: emulator.host, ssl: false });
    const backend = createFirestoreBackend({
      firestore,
      collection: `size_${newToken().replace(/[^A-Za-z0-9]/g, "")}`,
    });
    lines.push(await row("firestore", backend));
    await backend.close?.();
  } finally {
    await emulator.stop();
  }
}
console.log(lines.join("\n"));
