/**
 * Which fault, if any, was on at a moment of the history: the proof accepts only 503, 504
 * or a lost connection from a request that overlapped one. A fault is on from its
 * injection until its service came back (or, without a probe, until its heal): a server
 * restarting after its heal is still the fault's doing.
 */
import type { FaultRecord, FaultReport } from "./run.ts";

export function faultEnd(record: FaultRecord): number {
  return record.recoveredAt ?? record.healedAt ?? Number.POSITIVE_INFINITY;
}

/** The fault whose window overlaps [fromMs, toMs] (a request's invoke and answer), if any. */
export function faultDuring(report: FaultReport, fromMs: number, toMs = fromMs): FaultRecord | undefined {
  return report.records.find((record) => record.injectedAt <= toMs && fromMs <= faultEnd(record));
}
