/**
 * A faulted run's timeline as a Markdown table, for docs/proof.md and the CLI's output
 * alike: per fault when and how long, the answers it saw, the time to recover and the
 * share of requests answered while it was on. A result without a verdict (no --faults,
 * or an older JSON) gives nothing.
 */
import type { FaultVerdict } from "../run/fault-verdict.ts";

const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

export function isVerdict(faults: unknown): faults is FaultVerdict {
  return typeof faults === "object" && faults !== null && Array.isArray((faults as FaultVerdict).faults);
}

export function faultTimeline(verdict: FaultVerdict): string[] {
  const other = (answers: Record<string, number>) =>
    Object.entries(answers)
      .filter(([status]) => Number(status) >= 500 && status !== "503" && status !== "504")
      .map(([status, n]) => `${status}: ${n}`)
      .join(", ") || "none";
  const all = (answers: Record<string, number>) =>
    Object.entries(answers)
      .map(([status, n]) => `${status === "0" ? "lost" : status}: ${n}`)
      .join(", ") || "—";
  return [
    `Faults from seed ${verdict.seed}: ${verdict.faults.length} applied of ${verdict.report.schedule.length} planned, ${verdict.violations.length} breach(es) of the fault rule.`,
    "",
    "| fault | at | for | recovered after | answers during it | other than 503/504 | availability |",
    "|---|---:|---:|---:|---|---|---:|",
    ...verdict.faults.map(
      (f) =>
        `| ${f.kind} | ${seconds(f.startMs)} | ${seconds(f.durationMs)}${f.cutShort ? " (cut short: the workloads ended)" : ""} | ${f.recoveryMs === undefined ? "**not recovered**" : seconds(f.recoveryMs)} | ${all(f.answers)} | ${other(f.answers)} | ${(f.availability * 100).toFixed(1)} % |`,
    ),
    ...(verdict.witnesses.length === 0
      ? []
      : [
          "",
          `Kill witnesses (a 60 s grant taken just before each kill): ${verdict.witnesses
            .map((w) =>
              w.problem
                ? `**${w.problem}**`
                : w.untaken
                  ? `none (${w.untaken})`
                  : `held after the restart, fence ${w.fenceBefore} → ${w.fenceAfter}`,
            )
            .join("; ")}.`,
        ]),
    ...verdict.violations.map((line) => `- **${line}**`),
  ];
}
