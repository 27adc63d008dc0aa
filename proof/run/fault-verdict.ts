/**
 * The proof's rule for faults, judged on the histories: while a fault is on (from its
 * injection until the service answered again), the only acceptable errors are 503, 504 or
 * a lost connection, since those tell the client "unknown, retry"; a 500 there says the
 * server mishandled its own failure. After each fault the service must come back by itself
 * within the recovery timeout. Per fault: its kind, when, how long, the recovery time,
 * the answers it saw by status and the share answered.
 */
import type { Op } from "../checker/history.ts";
import type { FaultRecord, FaultReport } from "../faults/run.ts";
import { faultEnd } from "../faults/windows.ts";
import type { Witness } from "./kill-witness.ts";

/** Statuses a request may get while a fault is on, besides the ordinary ones (below 500). */
const ACCEPTABLE_ERRORS = new Set([0, 503, 504]);

export interface FaultSummary {
  kind: string;
  /** From the run's start. */
  startMs: number;
  durationMs: number;
  /** From the fault's end to the first good probe; absent: it did not come back in time. */
  recoveryMs?: number;
  /** Requests that overlapped the fault, by status ("0": no answer). */
  answers: Record<string, number>;
  /** Answered (not a 5xx, not lost), out of those requests. */
  availability: number;
  error?: string;
  /** The workloads ended before its planned end: healed at once, its aftermath unseen by them. */
  cutShort?: boolean;
}

export interface FaultVerdict {
  seed: number;
  faults: FaultSummary[];
  /** Each breach of the rule, as one line. */
  violations: string[];
  /** Each kill's witness grant (kill-witness.ts): held through the restart, fence above it after. */
  witnesses: Witness[];
  /** The report as faultRun gave it, for whoever wants the raw stamps. */
  report: FaultReport;
}

export function judgeFaults(report: FaultReport, histories: readonly Op[][], witnesses: Witness[] = []): FaultVerdict {
  const violations: string[] = [];
  const faults = report.records.map((record) => {
    const summary = summarize(record, report.startedAt, histories);
    const where = `${record.kind} at ${(summary.startMs / 1000).toFixed(3)} s`;
    for (const [status, n] of Object.entries(summary.answers)) {
      if (Number(status) >= 500 && !ACCEPTABLE_ERRORS.has(Number(status)))
        violations.push(`${where}: ${n} answer(s) ${status} during the fault (only 503, 504 or a lost connection may)`);
    }
    if (record.error) violations.push(`${where}: the fault could not be applied or healed: ${record.error}`);
    else if (record.recoveryMs === undefined) violations.push(`${where}: the service did not come back in time`);
    return summary;
  });
  for (const witness of witnesses)
    if (witness.problem) violations.push(`kill witness ${witness.key}: ${witness.problem}`);
  return { seed: report.seed, faults, violations, witnesses, report };
}

function summarize(record: FaultRecord, startedAt: number, histories: readonly Op[][]): FaultSummary {
  const end = faultEnd(record);
  const answers: Record<string, number> = {};
  let total = 0;
  let answered = 0;
  for (const op of histories.flat()) {
    // Writes go to the fenced resource in this process, not to the server.
    if (op.type === "write") continue;
    // Aborted on purpose by the client: its silence is not the fault's.
    if (op.type === "acquire" && op.abortAfterMs !== undefined && op.outcome === "unknown") continue;
    if (op.invokeMs > end || op.completeMs < record.injectedAt) continue;
    const status = op.status ?? 0;
    answers[status] = (answers[status] ?? 0) + 1;
    total++;
    if (status !== 0 && status < 500) answered++;
  }
  return {
    kind: record.kind,
    startMs: Math.round(record.injectedAt - startedAt),
    durationMs: Math.round((record.endedAt ?? record.injectedAt) - record.injectedAt),
    ...(record.recoveryMs === undefined ? {} : { recoveryMs: Math.round(record.recoveryMs) }),
    answers,
    availability: total === 0 ? 1 : answered / total,
    ...(record.error ? { error: record.error } : {}),
    ...(record.endedAt !== undefined && record.endedAt - record.injectedAt < record.plannedDurationMs - 1
      ? { cutShort: true }
      : {}),
  };
}
