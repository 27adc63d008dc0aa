/**
 * A fault report as lines for the proof's output and docs/proof.md: per fault, when it
 * began (from the run's start), how long it lasted, and how long the service took to
 * come back after it, or that it did not (the proof's "comes back by itself" fails then).
 */
import type { FaultRecord, FaultReport } from "./run.ts";

const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

export function formatFaultReport(report: FaultReport): string {
  const lines = report.records.map((record) => `  ${describe(record, report.startedAt)}`);
  const missed = report.records.filter((record) => record.recoveryMs === undefined).length;
  const head = `faults, seed ${report.seed}: ${report.records.length} applied of ${report.schedule.length} planned`;
  return [missed > 0 ? `${head}, ${missed} without a recovery` : head, ...lines].join("\n");
}

function describe(record: FaultRecord, startedAt: number): string {
  const lasted = record.endedAt === undefined ? "" : ` for ${seconds(record.endedAt - record.injectedAt)}`;
  const recovery =
    record.recoveryMs === undefined ? "no recovery seen" : `recovered ${seconds(record.recoveryMs)} after`;
  const error = record.error ? ` (error: ${record.error})` : "";
  return `${record.name} at ${seconds(record.injectedAt - startedAt)}${lasted}: ${recovery}${error}`;
}
