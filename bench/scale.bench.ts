/**
 * Rule 9's hostile sizes on every store, at full size: one key asked for 5,000 shared
 * holders, and one key with 10,000 queued waiters released at once (size/scenarios.ts
 * says what is checked). The queue's costs per step are queue-size.bench.ts's rows.
 * `--quick` runs 50 holders and 20 waiters on memory and Durable Objects only (one store
 * from Node, one over HTTP): it keeps the code alive, nothing more, and starts no stand-in.
 * SCALE_STORES=memory,neon runs only those stores (default: all).
 */
import type { BenchRow } from "./run.ts";
import { holders, waiters } from "./scale/scenarios.ts";
import { type OpenStore, STORES } from "./scale/stores.ts";

const QUICK = process.env.BENCH_QUICK === "1";
const HOLDERS = QUICK ? 50 : 5_000;
const WAITERS = QUICK ? 20 : 10_000;
const ALL = QUICK ? "memory,durable-object" : "memory,durable-object,upstash,neon,firestore";
const WANTED = (process.env.SCALE_STORES ?? ALL).split(",");

const checked = (failures: string[]) => (failures.length === 0 ? "all checks held" : `FAILED: ${failures.join("; ")}`);

async function rowsOf(name: string, store: OpenStore): Promise<BenchRow[]> {
  const many = await holders(store.target, HOLDERS);
  const queue = await waiters(store.target, WAITERS);
  return [
    {
      name: `${name}: ${HOLDERS.toLocaleString("en")} shared holders asked on one key`,
      value: many.answers,
      goal: "the rest refused by the holders bound; no fence reused, none lost",
      note: `${many.seconds.toFixed(1)} s, 16 at a time; lookup lists ${many.listed.toLocaleString("en")} live; an exclusive acquire then: ${many.exclusiveThen}; ${checked(many.failures)}`,
    },
    {
      name: `${name}: release of the holder, ${WAITERS.toLocaleString("en")} waiting`,
      value: `${queue.releaseMs.toFixed(2)} ms`,
      note: `one release, timed by the client; the store's step alone, against its floor, is in the queue rows`,
    },
    {
      name: `${name}: ${WAITERS.toLocaleString("en")} waiters on one key`,
      value: queue.answers,
      goal: "each served in arrival order or refused by a bound; no overlap, no 5xx",
      note: `queued one after another in ${queue.enqueueSeconds.toFixed(1)} s; all answered ${queue.serveAllSeconds.toFixed(1)} s after the release (each holds until its release is answered); ${checked(queue.failures)}`,
    },
  ];
}

export default async function scaleBench(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  if (QUICK && !process.env.SCALE_STORES) console.error("  scale: --quick runs memory and durable-object only");
  for (const [name, open] of Object.entries(STORES)) {
    if (!WANTED.includes(name)) continue;
    console.error(`  scale: ${name}`);
    const store = await open(WAITERS);
    // Stand-ins, emulator and server run in process groups of their own: stopped also when this is.
    const stopAndExit = () => void store.close().finally(() => process.exit(1));
    process.once("SIGINT", stopAndExit);
    process.once("SIGTERM", stopAndExit);
    try {
      rows.push(...(await rowsOf(name, store)));
    } finally {
      process.off("SIGINT", stopAndExit);
      process.off("SIGTERM", stopAndExit);
      await store.close();
    }
  }
  return rows;
}
