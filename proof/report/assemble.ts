/**
 * docs/proof.md, assembled from the results each run left in `.holdfast/proof/` (each store's
 * share runs on its own, so no one waits for all of them at once): per store the seed,
 * settings, workloads, counts, violations, availability, rate, and the command that
 * repeats it. It states the sizes reached, whatever they are.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { STORE_NAMES } from "../run/local-stores.ts";
import type { ProofResult } from "../run/result.ts";
import { faultTimeline, isVerdict } from "./fault-timeline.ts";

const ORDER: string[] = [...STORE_NAMES, "deployment"];

export function readResults(dir: string): ProofResult[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .map((name) => JSON.parse(readFileSync(join(dir, name), "utf8")) as ProofResult);
}

/** Stores in their order, each store's run without faults before its run with them. */
const inOrder = (results: ProofResult[]) =>
  [...results].sort(
    (a, b) => ORDER.indexOf(a.store) - ORDER.indexOf(b.store) || Number(faulted(a)) - Number(faulted(b)),
  );

const faulted = (r: ProofResult) => r.faults !== undefined;
/** A store's name, and whether faults were mixed in: a store may have a run of each kind. */
const label = (r: ProofResult) => (faulted(r) ? `${r.store}, with faults` : r.store);

/** Writes the report of the results in `dir` to `path`; returns `path`. */
export function writeReport(dir: string, path: string): string {
  writeFileSync(path, reportOf(readResults(dir)));
  return path;
}

/** `0` is no answer: a timeout or a lost connection. */
const byStatus = (counts: Record<string, number> | undefined) =>
  Object.entries(counts ?? {})
    .map(([status, n]) => `${status === "0" ? "no answer" : status}: ${n}`)
    .join(", ") || "—";
const pct = (share: number) => `${(share * 100).toFixed(2)} %`;
const seconds = (ms: number) => (ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`);
const million = (r: ProofResult) => (r.grantsPerSecond > 0 ? seconds((1_000_000 / r.grantsPerSecond) * 1000) : "—");

export function reportOf(unordered: ProofResult[]): string {
  const results = inOrder(unordered);
  // Each store's largest run: a store's faulted runs are smaller by design.
  const best = new Map<string, number>();
  for (const r of results) best.set(r.store, Math.max(best.get(r.store) ?? 0, r.grants));
  const largest = Math.max(0, ...best.values());
  const smallest = Math.min(largest, ...best.values());
  const lines = [
    "# Proof: histories of every store, checked",
    "",
    "Written by `npm run proof -- --report` from the results of `npm run proof -- --store NAME`",
    "(`.holdfast/proof/<store>.json`, and `<store>-faults.json` for a run with `--faults`); each section names the command that repeats its run. What",
    "the checker looks for, and why it cannot be fooled by a slow or lost answer: [proof/README.md](../proof/README.md).",
    "",
    `${results.length} runs, ${seconds(results.reduce((sum, r) => sum + r.durationMs, 0))} of workloads in all.`,
    smallest >= 1_000_000
      ? "**Every store reached 1,000,000 grants.**"
      : `**Sizes reached (each store's largest run): ${smallest.toLocaleString("en")} to ${largest.toLocaleString("en")} grants per store, not the 1,000,000 of the goal yet.**`,
    results.some((r) => r.faults !== undefined)
      ? "Faults were mixed in where a section lists them (`--faults`): during a fault only 503, 504 or a lost connection may answer, and the service must come back by itself."
      : "No faults were mixed in (`npm run proof -- --store NAME --faults` mixes them in).",
    "The rate is the workloads' pace on this machine (holders work up to 1.2 TTL, and a held key",
    "makes the next acquire wait or fail), not the store's capacity (`npm run bench` measures that);",
    "the 1,000,000 column says how long a million grants would take at that pace, with these sizes.",
    "Availability: requests answered (not a 5xx, not lost), out of those the client did not abort on purpose.",
    "Waiters in queue order: waiting requests whose place a probe dated (the same idempotency key, answered 400",
    "once queued), each checked to be served before every request asked for after that (— : a run without probes).",
    "",
    "| store | seed | grants | duration | grants/s | 1,000,000 grants | availability | violations |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
    ...results.map(
      (r) =>
        `| ${label(r)} | ${r.seed} | ${r.grants.toLocaleString("en")} | ${seconds(r.durationMs)} | ${r.grantsPerSecond} | ${million(r)} | ${pct(r.availability)} | ${r.violations} |`,
    ),
    "",
    ...results.flatMap(section),
  ];
  return `${lines.join("\n").trimEnd()}\n`;
}

function section(r: ProofResult): string[] {
  const { clients, keys, attempts, ttlMs } = r.size;
  return [
    `## ${label(r)}`,
    "",
    "```bash",
    r.command,
    "```",
    "",
    `Run ${r.startedAt} on ${r.machine}: ${clients} clients per workload on ${keys} keys, ${attempts} attempts each, TTL ${ttlMs} ms${r.rounds ? `, in ${r.rounds} rounds (each on keys of its own, checked as it ended)` : ""}.`,
    "",
    ...r.settings.map((line) => `- ${line}`),
    ...storeRates(r),
    "",
    "| workload | grants | acquires ok / fail / unknown | aborted on purpose | all requests ok / fail / unknown | other unknowns by status | waiters in queue order | violations |",
    "|---|---:|---:|---:|---:|---|---:|---:|",
    ...r.workloads.map(
      (w) =>
        `| ${w.kind} | ${w.grants} | ${w.acquires.ok} / ${w.acquires.fail} / ${w.acquires.unknown} | ${w.aborted} | ${w.requests.ok} / ${w.requests.fail} / ${w.requests.unknown} | ${byStatus(w.unknownByStatus)} | ${w.queuedProbed ?? "—"} | ${w.violations} |`,
    ),
    "",
    ...faultSection(r.faults),
    ...(r.violations > 0 ? ["```", r.report, "```", ""] : []),
  ];
}

/** The raw store's rates measured in the same run, and the workloads' rate as a share of them. */
function storeRates(r: ProofResult): string[] {
  if (!r.storeRates) return [];
  const { before, after } = r.storeRates;
  const share = (rate: number) => `${(r.grantsPerSecond / rate).toFixed(2)}×`;
  return [
    `- the store's own pace, measured before / after the workloads (${before.seconds} s each, conditional updates through the server's client): ${before.serial.toFixed(0)} / ${after.serial.toFixed(0)} per s on one document, one after the other; ${before.parallel.toFixed(0)} / ${after.parallel.toFixed(0)} per s on ${before.documents} documents at once (as many as the run's keys)`,
    `- the workloads' ${r.grantsPerSecond} grants/s are ${share(before.parallel)} / ${share(after.parallel)} of the parallel pace (a grant costs at least one update, its release another)`,
  ];
}

/** A verdict (--faults) as its timeline; anything else a fault hook returned, as JSON. */
function faultSection(faults: unknown): string[] {
  if (faults === undefined) return [];
  if (isVerdict(faults)) return [...faultTimeline(faults), ""];
  return ["Faults:", "", "```json", JSON.stringify(faults, null, 2), "```", ""];
}
