/**
 * A run of many rounds (`--grants`) reported as one: each workload's counts summed over the
 * rounds, and the rounds' fault verdicts joined into one timeline (each fault's start
 * counted from the run's start).
 */
import type { FaultVerdict } from "./fault-verdict.ts";
import type { Counts, WorkloadResult } from "./result.ts";

export const grantsOf = (workloads: WorkloadResult[]) => workloads.reduce((sum, w) => sum + w.grants, 0);

const addCounts = (a: Counts, b: Counts): Counts => ({
  ok: a.ok + b.ok,
  fail: a.fail + b.fail,
  unknown: a.unknown + b.unknown,
});

/** The rounds' results, workload by workload (every round runs the same workloads in the same order). */
export function mergeWorkloads(rounds: WorkloadResult[][]): WorkloadResult[] {
  const [first, ...rest] = rounds;
  if (!first) return [];
  return first.map((workload, i) =>
    rest.reduce((sum, round) => {
      const w = round[i] as WorkloadResult;
      const unknownByStatus = { ...sum.unknownByStatus };
      for (const [status, n] of Object.entries(w.unknownByStatus))
        unknownByStatus[status] = (unknownByStatus[status] ?? 0) + n;
      return {
        kind: sum.kind,
        requests: addCounts(sum.requests, w.requests),
        acquires: addCounts(sum.acquires, w.acquires),
        grants: sum.grants + w.grants,
        aborted: sum.aborted + w.aborted,
        unknownByStatus,
        queuedProbed: (sum.queuedProbed ?? 0) + (w.queuedProbed ?? 0),
        violations: sum.violations + w.violations,
      };
    }, workload),
  );
}

const isVerdict = (faults: unknown): faults is FaultVerdict =>
  typeof faults === "object" && faults !== null && Array.isArray((faults as FaultVerdict).faults);

/**
 * One round's verdict as it is; several rounds' as one, the faults in the order they came,
 * each `startMs` moved by its round's start (`offsetMs`, from the run's start).
 */
export function mergeFaults(rounds: { faults: unknown; offsetMs: number }[]): unknown {
  const present = rounds.filter((round) => round.faults !== undefined);
  if (present.length <= 1) return present[0]?.faults;
  if (!present.every((round) => isVerdict(round.faults))) return present.map((round) => round.faults);
  const verdicts = present as { faults: FaultVerdict; offsetMs: number }[];
  const first = (verdicts[0] as { faults: FaultVerdict }).faults;
  const last = (verdicts.at(-1) as { faults: FaultVerdict }).faults;
  const shifted = <T extends { startMs: number }>(items: T[], offsetMs: number) =>
    items.map((item) => ({ ...item, startMs: item.startMs + Math.round(offsetMs) }));
  return {
    seed: first.seed,
    faults: verdicts.flatMap(({ faults, offsetMs }) => shifted(faults.faults, offsetMs)),
    violations: verdicts.flatMap(({ faults }) => faults.violations),
    witnesses: verdicts.flatMap(({ faults }) => faults.witnesses),
    // The raw records' stamps are on the process's one clock already; what counts from the
    // round's start (the schedules, the planned starts) moves by its offset, as the summaries do.
    report: {
      seed: first.report.seed,
      startedAt: first.report.startedAt,
      stoppedAt: last.report.stoppedAt,
      records: verdicts.flatMap(({ faults, offsetMs }) =>
        faults.report.records.map((record) => ({
          ...record,
          plannedStartMs: record.plannedStartMs + Math.round(offsetMs),
        })),
      ),
      schedule: verdicts.flatMap(({ faults, offsetMs }) => shifted(faults.report.schedule, offsetMs)),
    },
  } satisfies FaultVerdict;
}
