/** What one run of the proof leaves behind (`.holdfast/proof/<store>.json`, `<store>-faults.json` with faults): enough to report it and to repeat it. */
import type { RawRates } from "../../local/firestore-raw-rate.ts";
import type { Op } from "../checker/history.ts";
import type { WorkloadKind } from "../driver/shapes.ts";
import type { Size } from "./sizes.ts";

export type Counts = Record<"ok" | "fail" | "unknown", number>;

export interface WorkloadResult {
  kind: WorkloadKind;
  /** Every request, and the acquires alone. */
  requests: Counts;
  acquires: Counts;
  /** Distinct grants (an idempotent retry's answer is the same grant). */
  grants: number;
  /** Unknowns the client caused on purpose (aborted sends), left out of availability. */
  aborted: number;
  /** The other unknowns, by HTTP status ("0": no answer in time, or a lost connection). */
  unknownByStatus: Record<string, number>;
  /** Waiters whose place in the queue a probe dated and that were granted: the queue order was checked on these. */
  queuedProbed?: number;
  violations: number;
}

export interface ProofResult {
  store: string;
  /** The command that repeats this run. */
  command: string;
  seed: number;
  size: Size;
  /** How many rounds of `size` the run took to reach its `--grants` (absent: one). */
  rounds?: number;
  /** Backend, where the data lives, what a crash would lose: from the server's banner. */
  settings: string[];
  workloads: WorkloadResult[];
  startedAt: string;
  /** CPUs and Node of the machine that ran it. */
  machine: string;
  durationMs: number;
  grants: number;
  grantsPerSecond: number;
  /** Requests answered (not 5xx, not lost), out of those the client did not abort. */
  availability: number;
  violations: number;
  /** Each violation with its sub-history, as printed. */
  report: string;
  /** What the fault schedule returned, if one was plugged in. */
  faults?: unknown;
  /** The raw store's own rates before and after the workloads (Firestore: its emulator's conditional updates). */
  storeRates?: { before: RawRates; after: RawRates };
}

export function countsOf(ops: Op[]): Counts {
  const counts: Counts = { ok: 0, fail: 0, unknown: 0 };
  for (const op of ops) counts[op.outcome]++;
  return counts;
}

export function resultOf(kind: WorkloadKind, ops: Op[], violations: number): WorkloadResult {
  const acquires = ops.filter((op) => op.type === "acquire");
  const lockIds = new Set(acquires.flatMap((op) => (op.outcome === "ok" && op.lockId ? [op.lockId] : [])));
  const aborted = acquires.filter((op) => op.outcome === "unknown" && op.abortAfterMs !== undefined).length;
  const unknownByStatus: Record<string, number> = {};
  for (const op of ops) {
    if (op.outcome !== "unknown" || (op.type === "acquire" && op.abortAfterMs !== undefined)) continue;
    const status = String(op.status ?? 0);
    unknownByStatus[status] = (unknownByStatus[status] ?? 0) + 1;
  }
  // The waiters the queue-order check covers: dated by a probe, and granted.
  const dated = new Set(
    acquires.flatMap((op) => (op.probe && op.mismatch && op.idempotencyKey ? [op.idempotencyKey] : [])),
  );
  const queuedProbed = new Set(
    acquires.flatMap((op) =>
      !op.probe && op.outcome === "ok" && op.idempotencyKey && dated.has(op.idempotencyKey) ? [op.idempotencyKey] : [],
    ),
  ).size;
  return {
    kind,
    unknownByStatus,
    queuedProbed,
    requests: countsOf(ops.filter((op) => op.type !== "write")),
    acquires: countsOf(acquires),
    grants: lockIds.size,
    aborted,
    violations,
  };
}
