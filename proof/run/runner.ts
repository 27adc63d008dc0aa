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
import { type ProofResult, resultOf, type WorkloadResult } from "./result.ts";
import { grantsOf, mergeFaults, mergeWorkloads } from "./rounds.ts";
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
  /** Which requests a fault may have sent twice (the checker then reads their answers accordingly). */
  mayBeDuplicated?(stopped: unknown): (op: Op) => boolean;
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
  /** Runs rounds of `size` until this many grants (each round on keys of its own); one round without it. */
  grants?: number;
  log?: (line: string) => void;
}

export async function runProof(options: RunOptions): Promise<ProofResult> {
  const { store, seed, size } = options;
  const log = options.log ?? (() => {});
  // A prefix of this run's own: a re-run with the same seed meets no grant of the last one.
  const prefix = `${options.keyPrefix}${seed}-${Date.now().toString(36)}:`;
  const startedAt = new Date();
  const began = performance.now();
  const rounds: Round[] = [];
  const goal = options.grants;
  let granted = 0;
  // Rounds until the goal is met: each on keys of its own, checked, then its history let go,
  // so that a million grants never sit in memory at once.
  do {
    // The first round's keys are named as a one-round run's are.
    const keys = rounds.length === 0 ? prefix : `${prefix}r${rounds.length}:`;
    const round = await runRound(options, rounds.length, keys, began, log);
    rounds.push(round);
    const more = grantsOf(round.workloads);
    granted += more;
    if (goal === undefined) break;
    // A deployment that grants nothing would never reach the goal.
    if (more === 0)
      throw new Error(`round ${rounds.length} made no grant: the goal of ${goal} grants cannot be reached`);
    log(`round ${rounds.length}: ${granted.toLocaleString("en")} of ${goal.toLocaleString("en")} grants`);
  } while (granted < goal);
  const workloads = mergeWorkloads(rounds.map((r) => r.workloads));
  const durationMs = rounds.reduce((sum, r) => sum + r.durationMs, 0);
  const grants = grantsOf(workloads);
  const requests = workloads.reduce(
    (sum, w) => sum + w.requests.ok + w.requests.fail + w.requests.unknown - w.aborted,
    0,
  );
  const answered = workloads.reduce((sum, w) => sum + w.requests.ok + w.requests.fail, 0);
  const faultSummary = mergeFaults(rounds.map((r) => ({ faults: r.faults, offsetMs: r.offsetMs })));
  return {
    store,
    command: options.command,
    seed,
    size,
    ...(rounds.length > 1 ? { rounds: rounds.length } : {}),
    settings: options.settings,
    workloads,
    startedAt: startedAt.toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, Node ${process.version}`,
    durationMs: Math.round(durationMs),
    grants,
    grantsPerSecond: Math.round((grants / durationMs) * 1000 * 10) / 10,
    availability: requests === 0 ? 1 : answered / requests,
    violations: rounds.reduce((sum, r) => sum + r.violations, 0),
    report: rounds
      .map((r) => r.report)
      .filter((text) => text !== "")
      .join("\n"),
    ...(faultSummary === undefined ? {} : { faults: faultSummary }),
  };
}

/** One round's outcome, without its history. */
interface Round {
  workloads: WorkloadResult[];
  /** When it began, from the run's start. */
  offsetMs: number;
  durationMs: number;
  violations: number;
  report: string;
  faults: unknown;
}

/** Every workload at once on this round's keys, the fault schedule around it (its seed: the run's + the round), checked. */
async function runRound(
  options: RunOptions,
  index: number,
  prefix: string,
  runBegan: number,
  log: (line: string) => void,
) {
  const { target, store, size, faults } = options;
  const seed = options.seed + index;
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
    const mayBeDuplicated = faults?.mayBeDuplicated?.(faultReport);
    const violations = check(histories[i] ?? [], mayBeDuplicated ? { mayBeDuplicated } : {});
    found.push(...violations);
    return resultOf(kind, histories[i] ?? [], violations.length);
  });
  const verdict = faults?.judge?.(faultReport, histories);
  const faultViolations = verdict?.violations ?? [];
  return {
    workloads,
    offsetMs: began - runBegan,
    durationMs,
    violations: found.length + faultViolations.length,
    report: [formatViolations(found), ...faultViolations.map((line) => `fault rule: ${line}`)]
      .filter((text) => text !== "")
      .join("\n"),
    faults: verdict ?? faultReport,
  } satisfies Round;
}
