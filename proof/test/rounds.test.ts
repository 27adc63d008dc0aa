/** A run of many rounds reported as one: counts summed, fault timelines joined on the run's clock. */
import { describe, expect, it } from "vitest";
import type { FaultVerdict } from "../run/fault-verdict.ts";
import type { WorkloadResult } from "../run/result.ts";
import { mergeFaults, mergeWorkloads } from "../run/rounds.ts";

const workload = (grants: number, unknownByStatus: Record<string, number>): WorkloadResult => ({
  kind: "mutex",
  requests: { ok: grants * 2, fail: 1, unknown: 1 },
  acquires: { ok: grants, fail: 1, unknown: 1 },
  grants,
  aborted: 1,
  unknownByStatus,
  violations: 0,
});

const verdict = (seed: number, startMs: number, violations: string[] = []) =>
  ({
    seed,
    faults: [{ kind: "kill-server", startMs, durationMs: 10, recoveryMs: 5, answers: {}, availability: 1 }],
    violations,
    witnesses: [],
    report: {
      seed,
      startedAt: 0,
      stoppedAt: startMs + 1000,
      schedule: [{ startMs, kind: "kill-server", durationMs: 10 }],
      records: [{ kind: "kill-server", name: "kill server", plannedStartMs: startMs, injectedAt: startMs }],
    },
  }) as unknown as FaultVerdict;

describe("rounds", () => {
  it("sums each workload's counts over the rounds", () => {
    const [merged] = mergeWorkloads([[workload(5, { "503": 1 })], [workload(7, { "503": 2, "0": 1 })]]);
    expect(merged).toMatchObject({
      grants: 12,
      aborted: 2,
      acquires: { ok: 12, fail: 2, unknown: 2 },
      requests: { ok: 24, fail: 2, unknown: 2 },
      unknownByStatus: { "503": 3, "0": 1 },
    });
  });

  it("joins the rounds' fault verdicts, each fault's start on the run's clock", () => {
    const merged = mergeFaults([
      { faults: verdict(8, 100), offsetMs: 0 },
      { faults: verdict(9, 200, ["a 500 during kill-server"]), offsetMs: 5000 },
    ]) as FaultVerdict;
    expect(merged.seed).toBe(8);
    expect(merged.faults.map((f) => f.startMs)).toEqual([100, 5200]);
    expect(merged.violations).toEqual(["a 500 during kill-server"]);
    expect(merged.report.schedule.map((f) => f.startMs)).toEqual([100, 5200]);
    expect(merged.report.records.map((r) => r.plannedStartMs)).toEqual([100, 5200]);
    expect(merged.report.stoppedAt).toBe(1200);
    expect(mergeFaults([{ faults: verdict(8, 100), offsetMs: 0 }])).toEqual(verdict(8, 100));
    expect(mergeFaults([{ faults: undefined, offsetMs: 0 }])).toBeUndefined();
  });
});
