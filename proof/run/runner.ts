/**
 * One run of the proof against one deployment: every workload at once, on keys of its own,
 * with an optional fault schedule started before and stopped after (proof/faults/ plugs in
 * here), then the check of every history and the result to keep.
 */
import { cpus } from "node:os";
import { check, formatViolations, type Violation } from "../checker/checker.ts";
import type { Op } from "../checker/history.ts";
import type { Target } from "../driver/http.ts";
import { WORKLOADS } from "../driver/shapes.ts";
import { runWorkload } from "../driver/workload.ts";
import { type ProofResult, resultOf } from "./result.ts";
import type { Size } from "./sizes.ts";
import { workloadOf } from "./sizes.ts";

/** What a fault schedule is told about the run it disturbs. */
export interface FaultContext {
  store: string;
  url: string;
  seed: number;
  /** The store's data directory, when the proof started the store itself. */
  dataDir?: string;
  log(line: string): void;
}

/** A fault schedule: started once the server is up, stopped once the workloads are done. */
export interface Faults {
  start(context: FaultContext): Promise<void>;
  /** Whatever it returns (its timeline, say) is kept in the result. */
  stop(): Promise<unknown>;
  /**
   * Judges the histories against what stop() returned (answers during a fault, recovery);
   * what it returns is kept in the result instead, its violations count with the checker's.
   */
  judge?(stopped: unknown, histories: Op[][]): { violations: string[] };
}

export interface RunOptions {
  target: Target;
  store: string;
  command: string;
  seed: number;
  size: Size;
  settings: string[];
  keyPrefix: string;
  dataDir?: string;
  faults?: Faults;
  log?: (line: string) => void;
}

export async function runProof(options: RunOptions): Promise<ProofResult> {
  const { target, store, seed, size, faults } = options;
  const log = options.log ?? (() => {});
  // A prefix of this run's own: a re-run with the same seed meets no grant of the last one.
  const prefix = `${options.keyPrefix}${seed}-${Date.now().toString(36)}:`;
  const startedAt = new Date();
  const began = performance.now();
  await faults?.start({ store, url: target.url, seed, log, ...(options.dataDir ? { dataDir: options.dataDir } : {}) });
  let histories: Op[][];
  let faultReport: unknown;
  try {
    histories = await Promise.all(WORKLOADS.map((kind) => runWorkload(target, workloadOf(kind, size, seed, prefix))));
  } finally {
    faultReport = await faults?.stop();
  }
  const durationMs = performance.now() - began;
  const found: Violation[] = [];
  const workloads = WORKLOADS.map((kind, i) => {
    const violations = check(histories[i] ?? []);
    found.push(...violations);
    return resultOf(kind, histories[i] ?? [], violations.length);
  });
  const verdict = faults?.judge?.(faultReport, histories);
  const faultViolations = verdict?.violations ?? [];
  const faultSummary = verdict ?? faultReport;
  const grants = workloads.reduce((sum, w) => sum + w.grants, 0);
  const requests = workloads.reduce(
    (sum, w) => sum + w.requests.ok + w.requests.fail + w.requests.unknown - w.aborted,
    0,
  );
  const answered = workloads.reduce((sum, w) => sum + w.requests.ok + w.requests.fail, 0);
  return {
    store,
    command: options.command,
    seed,
    size,
    settings: options.settings,
    workloads,
    startedAt: startedAt.toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, Node ${process.version}`,
    durationMs: Math.round(durationMs),
    grants,
    grantsPerSecond: Math.round((grants / durationMs) * 1000 * 10) / 10,
    availability: requests === 0 ? 1 : answered / requests,
    violations: found.length + faultViolations.length,
    report: [formatViolations(found), ...faultViolations.map((line) => `fault rule: ${line}`)]
      .filter((text) => text !== "")
      .join("\n"),
    ...(faultSummary === undefined ? {} : { faults: faultSummary }),
  };
}
