/**
 * Firebase issue benchmark, on one real Firestore emulator (a process of its own):
 * - RPCs per operation, counted in the Firestore client's own request log (goal ≤ 2);
 * - sequential acquire+release through the exported function (`npm run start:firebase`:
 *   the Functions Framework, a process of its own) and the same backend straight from
 *   Node, against one read round trip and against the raw store's best changing step
 *   (a read and a conditional write, on the same emulator);
 * - hot-key handoff, 16 contenders holding 1 ms: Holdfast's queue through the function,
 *   against the raw store's serial update rate on one document, and beside the method of
 *   most Firestore lock libraries (syncguard's included): a transaction that reads and
 *   writes the lock document, polled every 10 ms.
 * Every figure is the median over ROUNDS interleaved rounds, its floor measured in the same rounds.
 */
import { randomUUID } from "node:crypto";
import { Firestore, setLogFunction } from "@google-cloud/firestore";
import { type Backend, keyIdOf, newToken } from "@holdfast/shared";
import { createFirestoreBackend } from "../functions/src/firestore/backend.ts";
import { DEMO_PROJECT, OFFLINE_ENV, startFirestoreEmulator } from "../local/firestore-emulator.ts";
import { rawUpdate } from "../local/firestore-raw-rate.ts";
import { type ContentionResult, runContention, waitingAcquirer } from "./contention.ts";
import { type JsonClient, percentile } from "./http-client.ts";
import { asContender, benchServer, eachOperation, median, medianOf, ms, ratio, sleep, timed } from "./measure.ts";
import type { BenchRow } from "./run.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONTENDERS = 16;

/**
 * Requests the client sent, from its own log: one line per unary call (`Firestore.request`)
 * and per stream opened (`Firestore.requestStream`; a listen's first message is logged
 * again by `_initializeStream`, not counted).
 */
let rpcs = 0;
setLogFunction((line) => {
  if (/\[Firestore\.request(Stream)?\]: Sending request/.test(line)) rpcs++;
});

export default async function firestoreBench(): Promise<BenchRow[]> {
  Object.assign(process.env, OFFLINE_ENV);
  const emulator = await startFirestoreEmulator();
  const firestore = new Firestore({ projectId: DEMO_PROJECT, host: emulator.host, ssl: false });
  const collection = `bench_${randomUUID().slice(0, 8)}`;
  const backend = createFirestoreBackend({ firestore, collection });
  const { client, stop } = await benchServer(
    { FIRESTORE_EMULATOR_HOST: emulator.host, HOLDFAST_FIRESTORE_COLLECTION: `${collection}_fn` },
    "scripts/start-firebase.ts",
  );
  try {
    return [
      ...(await rpcCounts(backend)),
      ...(await latencies(client, backend, firestore.collection(`${collection}_raw`))),
      ...(await handoffs(client, backend, firestore)),
    ];
  } finally {
    await stop();
    await firestore.terminate();
    await emulator.stop();
  }
}

async function rpcCounts(backend: Backend): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  await eachOperation(backend, async (name, run) => {
    rpcs = 0;
    await run();
    rows.push({ name: `firestore: RPCs per ${name}`, value: String(rpcs), goal: "≤ 2" });
  });
  // A try-once acquire on a held key decides without writing: one read.
  const key = `count:${newToken()}`;
  const keyId = await keyIdOf("bench", key);
  const request = { tenant: "bench", key, keyId, ttlMs: 10_000, mode: "exclusive" as const, permits: 1, limit: null };
  await backend.acquire({ ...request, token: newToken() });
  rpcs = 0;
  await backend.acquire({ ...request, token: newToken() });
  rows.push({ name: "firestore: RPCs per acquire of a held key (locked)", value: String(rpcs), goal: "≤ 2" });
  return rows;
}

async function latencies(
  client: JsonClient,
  backend: Backend,
  raw: ReturnType<Firestore["collection"]>,
): Promise<BenchRow[]> {
  const pair = {
    floorRead: async (i: number) => {
      await raw.doc(`r${i % 32}`).get();
    },
    floorUpdate: async (i: number) => {
      await rawUpdate(raw.doc(`u${i % 32}`), i);
    },
    function: async (i: number) => {
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
  };
  type Name = keyof typeof pair;
  const p50: Record<string, number[]> = {};
  const p99: Record<string, number[]> = {};
  for (const once of Object.values(pair)) await timed(10, once); // warm up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, once] of Object.entries(pair)) {
      const times = await timed(PAIRS, once);
      p50[name] = [...(p50[name] ?? []), percentile(times, 50)];
      p99[name] = [...(p99[name] ?? []), percentile(times, 99)];
    }
  }
  const at = (name: Name) => median(p50[name] ?? []);
  const row = (label: string, name: Name, note: string): BenchRow[] => [
    {
      name: `firestore: acquire+release p50, ${label}`,
      value: ms(at(name)),
      note: `${ratio(at(name), at("floorRead"))} one read round trip; ${ratio(at(name), at("floorUpdate"))} one raw read + conditional write; ${note}`,
    },
    { name: `firestore: acquire+release p99, ${label}`, value: ms(median(p99[name] ?? [])) },
  ];
  return [
    { name: "firestore: one read round trip (get), p50", value: ms(at("floorRead")), note: "floor: 1 RPC" },
    {
      name: "firestore: raw read + conditional write on one document, p50",
      value: ms(at("floorUpdate")),
      note: "floor: the store's cheapest atomic change, 2 RPCs",
    },
    ...row(
      "through the exported function (Functions Framework)",
      "function",
      `${ratio(at("function"), at("node"))} the same backend from Node`,
    ),
    ...row("same backend straight from Node", "node", "4 RPCs (2 per operation)"),
  ];
}

async function handoffs(client: JsonClient, backend: Backend, firestore: Firestore): Promise<BenchRow[]> {
  const run = (target: JsonClient, acquire: typeof waitingAcquirer, seconds = SECONDS) =>
    runContention(target, { contenders: CONTENDERS, seconds, holdMs: 1, acquire });
  const locks = firestore.collection(`bench_tx_${randomUUID().slice(0, 8)}`);
  // The usual Firestore lock: a transaction reads the lock document and writes it if free.
  const transactionLock = asContender(async (key, deadline) => {
    const ref = locks.doc(key.replace(/[^A-Za-z0-9]/g, "_"));
    const token = newToken();
    while (performance.now() < deadline) {
      const taken = await firestore
        .runTransaction(async (tx) => {
          const snapshot = await tx.get(ref);
          const expiresAt = Number(snapshot.get("expiresAt") ?? 0);
          if (expiresAt > snapshot.readTime.toMillis()) return false;
          tx.set(ref, { token, expiresAt: snapshot.readTime.toMillis() + 10_000 });
          return true;
        })
        .catch(() => false);
      if (taken) return () => ref.update({ expiresAt: 0 }).catch(() => undefined);
      await sleep(10);
    }
    return null;
  });
  const results: Record<"holdfast" | "transaction", ContentionResult[]> = { holdfast: [], transaction: [] };
  const rawRates: number[] = [];
  const floors: number[] = [];
  const perHandoff: number[] = [];
  const raw = firestore.collection(`bench_raw_${randomUUID().slice(0, 8)}`).doc("hot");
  await run(client, waitingAcquirer, 1); // warm up
  for (let round = 0; round < ROUNDS; round++) {
    floors.push(percentile(await timed(PAIRS, (i) => raw.parent.doc(`read${i % 4}`).get(), 1), 50));
    const started = performance.now();
    let updates = 0;
    while (performance.now() - started < SECONDS * 1000) await rawUpdate(raw, updates++);
    rawRates.push(updates / ((performance.now() - started) / 1000));
    results.holdfast.push(await run(client, waitingAcquirer));
    results.transaction.push(await run(transactionLock.client, transactionLock.acquire));
    perHandoff.push(await rpcsPerHandoff(backend));
  }
  const floor = median(floors);
  const rawRate = median(rawRates);
  const rows = (label: string, result: ContentionResult, extra: BenchRow[] = []): BenchRow[] => [
    {
      name: `firestore hot key, ${label}: handoff p50`,
      value: ms(result.handoffP50),
      note: `${ratio(result.handoffP50, floor)} one read round trip after a 1 ms pause (${ms(floor)}, same rounds)`,
    },
    { name: `firestore hot key, ${label}: handoff p99`, value: ms(result.handoffP99) },
    {
      name: `firestore hot key, ${label}: grants/s`,
      value: result.grantsPerSecond.toFixed(0),
      note: `${ratio(result.grantsPerSecond, rawRate)} the raw serial update rate of one document (${rawRate.toFixed(0)}/s, same rounds); production Firestore sustains about 1 write/s per document`,
    },
    {
      name: `firestore hot key, ${label}: fairness (fewest/most)`,
      value: result.fairness.toFixed(2),
      goal: "≥ 0.9 (Holdfast)",
      note: `fewest ${result.fewest}, most ${result.most}, ${result.grants} grants`,
    },
    ...extra,
  ];
  return [
    ...rows(`${CONTENDERS} waiters, Holdfast queue through the function`, medianOf(results.holdfast), [
      {
        name: "firestore hot key: RPCs per waiter per handoff (from Node, 4 waiters)",
        value: median(perHandoff).toFixed(2),
        note: "queue (read + write) and listen (1 stream); a check (a read) only when the listen's first snapshot did not show the waiter; the release's own 2 RPCs not counted",
      },
    ]),
    ...rows(`${CONTENDERS} contenders, a transaction polled every 10 ms`, medianOf(results.transaction)),
  ];
}

/** Four waiters queue behind a holder and are served one by one; the RPCs their waits cost, per handoff. */
async function rpcsPerHandoff(backend: Backend): Promise<number> {
  const key = `handoff:${newToken()}`;
  const keyId = await keyIdOf("bench", key);
  const request = (token: string) => ({
    tenant: "bench",
    key,
    keyId,
    token,
    ttlMs: 10_000,
    mode: "exclusive" as const,
    permits: 1,
    limit: null,
  });
  const first = newToken();
  await backend.acquire(request(first));
  const waiters = Array.from({ length: 4 }, () => newToken());
  const queued = backend.acquireQueued as NonNullable<Backend["acquireQueued"]>;
  rpcs = 0;
  const pending = new Map(
    waiters.map((token) => [
      token,
      queued(request(token), { waitMs: 20_000, signal: new AbortController().signal }).then((result) => ({
        token,
        result,
      })),
    ]),
  );
  let releases = 0;
  let holder = first;
  while (pending.size > 0) {
    await sleep(50);
    await backend.release({ tenant: "bench", keyId, token: holder });
    releases++;
    // The release served the queue's head, whichever waiter that is.
    const { token, result } = await Promise.race(pending.values());
    pending.delete(token);
    if (result.ok) holder = result.token;
  }
  const waiterRpcs = rpcs - releases * 2;
  await backend.release({ tenant: "bench", keyId, token: holder });
  return waiterRpcs / waiters.length;
}
