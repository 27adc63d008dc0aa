/**
 * `npm run proof`: the proof of every local store in turn (memory, durable-object, upstash,
 * neon, firestore), each started here and stopped after; `--store NAME` for one of them;
 * `--url <deployment> --token <token>` for a deployment of one's own (keys under
 * `--prefix`: give it one nothing else uses). Every workload runs (mutex, semaphore,
 * read-write); `--quick` makes it short. Each run's result is kept in
 * `.holdfast/proof/<store>.json`; `--report` writes docs/proof.md from them. Prints the
 * counts and every violation with the operations that show it, and exits 1 if there was one.
 * `--faults` (local stores): the server is killed and restarted, answers dropped and
 * requests doubled, and the store (upstash, neon, firestore) killed, paused, slowed, cut
 * off or reset, on a schedule from the seed during the workloads (run/faulted-store.ts);
 * `--fault-kinds a,b` chooses among them.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { writeReport } from "./report/assemble.ts";
import { faultTimeline, isVerdict } from "./report/fault-timeline.ts";
import { runLocal } from "./run/local-run.ts";
import { STORE_NAMES, type StoreName } from "./run/local-stores.ts";
import type { ProofResult } from "./run/result.ts";
import { runProof } from "./run/runner.ts";
import { SIZES, type Size } from "./run/sizes.ts";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    token: { type: "string", default: process.env.HOLDFAST_TOKEN ?? "dev" },
    prefix: { type: "string", default: "holdfast-proof:" },
    store: { type: "string" },
    quick: { type: "boolean", default: false },
    report: { type: "boolean", default: false },
    faults: { type: "boolean", default: false },
    "fault-ms": { type: "string" },
    "fault-kinds": { type: "string" },
    clients: { type: "string" },
    keys: { type: "string" },
    attempts: { type: "string" },
    ttl: { type: "string" },
    grants: { type: "string" },
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
    out: { type: "string", default: ".holdfast/proof" },
  },
});
const usage =
  "usage: npm run proof -- [--store memory|durable-object|upstash|neon|firestore | --url <deployment> --token <token> --prefix p] [--quick] [--clients n --keys n --attempts n --ttl ms] [--grants n] [--seed n] [--faults [--fault-ms ms] [--fault-kinds kill-server,kill-store,…]] | --report";
const out = resolve(values.out);

if (values.report) {
  console.log(`proof: wrote ${writeReport(out, "docs/proof.md")}`);
  process.exit(0);
}
if (values.store !== undefined && !STORE_NAMES.includes(values.store as StoreName)) {
  console.error(`proof: no local store ${JSON.stringify(values.store)}\n${usage}`);
  process.exit(2);
}

// A deployment of one's own gets the safe default of before (about 400 grants a workload).
// With --faults, quick runs 40 attempts: with 10 the workloads end before the faults do.
const base: Size = values.quick
  ? { ...SIZES.quick, ...(values.faults ? { attempts: 40 } : {}) }
  : values.url
    ? { clients: 8, keys: 3, attempts: 50, ttlMs: 2000 }
    : values.grants !== undefined
      ? SIZES.large
      : SIZES.medium;
const size: Size = {
  clients: Number(values.clients ?? base.clients),
  keys: Number(values.keys ?? base.keys),
  attempts: Number(values.attempts ?? base.attempts),
  ttlMs: Number(values.ttl ?? base.ttlMs),
};
// --grants: rounds of `size`, each on keys of its own, until that many grants in all.
const grants = values.grants === undefined ? undefined : Number(values.grants);
if ([...Object.values(size), grants ?? 1].some((n) => !Number.isInteger(n) || n < 1)) {
  console.error(`proof: sizes are whole numbers ≥ 1\n${usage}`);
  process.exit(2);
}
const seed = Number(values.seed);
const sizeFlags = [
  values.quick ? " --quick" : "",
  ...(["clients", "keys", "attempts", "ttl", "grants"] as const).map((flag) =>
    values[flag] === undefined ? "" : ` --${flag} ${values[flag]}`,
  ),
].join("");
const log = (line: string) => console.log(`proof: ${line}`);
// --faults: a schedule that ends before the workloads do (quick ~10 s, medium a minute or more).
const faultMs = Number(values["fault-ms"] ?? (values.quick ? 6000 : 60_000));
if (values.faults && (values.url || !Number.isInteger(faultMs) || faultMs < 1)) {
  console.error(`proof: --faults is for local stores, --fault-ms a whole number\n${usage}`);
  process.exit(2);
}
// A kind the store does not have is refused when its run starts (faulted-store.ts).
const faultKinds =
  values["fault-kinds"] === undefined ? {} : { kinds: values["fault-kinds"].split(",").map((kind) => kind.trim()) };
if (values["fault-kinds"] !== undefined && !values.faults) {
  console.error(`proof: --fault-kinds goes with --faults\n${usage}`);
  process.exit(2);
}
mkdirSync(out, { recursive: true });

let failed = false;
const keep = (result: ProofResult) => {
  // A run with faults and one without are kept side by side: the report shows both.
  const name = `${result.store}${result.faults === undefined ? "" : "-faults"}.json`;
  writeFileSync(join(out, name), `${JSON.stringify(result, null, 2)}\n`);
  console.log(summary(result));
  if (result.violations > 0) {
    console.log(`${result.violations} violation(s):\n${result.report}`);
    failed = true;
  } else console.log("no violation");
};

if (values.url) {
  const url = values.url.replace(/\/$/, "");
  log(`every workload against ${url}, seed ${seed}, ${size.clients} clients on ${size.keys} keys each`);
  keep(
    await runProof({
      target: { url, token: values.token },
      store: "deployment",
      command: `npm run proof -- --url ${url} --token <token> --prefix ${values.prefix} --seed ${seed}${sizeFlags}`,
      seed,
      size,
      settings: [`a deployment at ${url}`],
      keyPrefix: values.prefix,
      ...(grants === undefined ? {} : { grants }),
      log,
    }),
  );
} else {
  const stores = values.store ? [values.store as StoreName] : STORE_NAMES;
  for (const store of stores) {
    log(`${store}: seed ${seed}, ${size.clients} clients on ${size.keys} keys per workload`);
    try {
      const faultPlan = values.faults ? { faultPlan: { durationMs: faultMs, ...faultKinds } } : {};
      const goal = grants === undefined ? {} : { grants };
      keep(await runLocal(store, { seed, size, sizeFlags, dataRoot: join(out, "data"), log, ...faultPlan, ...goal }));
    } catch (error) {
      console.error(`proof: ${store} did not run: ${error instanceof Error ? error.message : String(error)}`);
      failed = true;
    }
  }
}
process.exit(failed ? 1 : 0);

function summary(result: ProofResult): string {
  const lines = result.workloads.map(
    (w) =>
      `  ${w.kind}: ${w.grants} grants; acquires ok ${w.acquires.ok} / fail ${w.acquires.fail} / unknown ${w.acquires.unknown} (${w.aborted} aborted on purpose); all requests ok ${w.requests.ok} / fail ${w.requests.fail} / unknown ${w.requests.unknown}${otherUnknowns(w.unknownByStatus)}; ${w.queuedProbed ?? 0} waiters' queue order checked`,
  );
  return [
    `${result.store}: ${result.grants} grants in ${(result.durationMs / 1000).toFixed(1)} s (${result.grantsPerSecond}/s), availability ${(result.availability * 100).toFixed(2)} %`,
    ...lines,
    ...(isVerdict(result.faults) ? faultTimeline(result.faults) : []),
  ].join("\n");
}

/** Unknowns the client did not cause, by status (0: no answer). */
function otherUnknowns(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? "" : `; other unknowns by status: ${entries.map(([s, n]) => `${s}: ${n}`).join(", ")}`;
}
