/** The seeded fault schedule, and the runner that applies it and measures recovery. */
import { describe, expect, it } from "vitest";
import type { Fault } from "../faults/fault.ts";
import { formatFaultReport } from "../faults/report.ts";
import { faultRun } from "../faults/run.ts";
import { formatSchedule, planSchedule } from "../faults/schedule.ts";

const kinds = ["kill-server", "pause-store", "blackhole-store", "drop-response"];

describe("fault schedule", () => {
  it("is the same for the same seed, and another for another seed", () => {
    const plan = (seed: number) => planSchedule({ seed, durationMs: 120_000, kinds });
    expect(plan(7)).toEqual(plan(7));
    expect(plan(7)).not.toEqual(plan(8));
    expect(formatSchedule(7, plan(7))).toBe(formatSchedule(7, plan(7)));
    expect(formatSchedule(7, plan(7))).toMatch(/^fault schedule, seed 7: \d+ fault\(s\)\n {2}at \d+\.\d{3} s for/);
  });

  it("keeps faults apart, within their bounds, healed before the run ends, and uses every kind", () => {
    const schedule = planSchedule({ seed: 3, durationMs: 300_000, kinds, minFaultMs: 200, maxFaultMs: 900 });
    expect(schedule.length).toBeGreaterThan(20);
    for (const [i, fault] of schedule.entries()) {
      expect(fault.durationMs).toBeGreaterThanOrEqual(200);
      expect(fault.durationMs).toBeLessThanOrEqual(900);
      expect(fault.startMs + fault.durationMs).toBeLessThanOrEqual(300_000);
      const previous = schedule[i - 1];
      if (previous) expect(fault.startMs).toBeGreaterThanOrEqual(previous.startMs + previous.durationMs + 1000);
    }
    expect(new Set(schedule.map((fault) => fault.kind))).toEqual(new Set(kinds));
  });
});

/** A fault whose service comes back `recoveryMs` after the heal, as a restarted server that must reload. */
function slowToRecover(recoveryMs: number) {
  const calls: string[] = [];
  let upAt = 0;
  const fault: Fault = {
    name: "outage",
    inject: async () => {
      calls.push("inject");
      upAt = Number.POSITIVE_INFINITY;
    },
    heal: async () => {
      calls.push("heal");
      upAt = performance.now() + recoveryMs;
    },
  };
  return { fault, calls, probe: async () => performance.now() >= upAt };
}

describe("fault run", () => {
  it("injects and heals on schedule and measures the time until the probe succeeds again", async () => {
    const { fault, calls, probe } = slowToRecover(150);
    const schedule = [{ startMs: 50, durationMs: 100, kind: "outage" }];
    const run = faultRun({ seed: 1, schedule, faults: { outage: fault }, probe, probeIntervalMs: 10, log: () => {} });
    await run.start();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const report = await run.stop();
    expect(calls).toEqual(["inject", "heal"]);
    const [record] = report.records;
    expect(record?.injectedAt).toBeGreaterThanOrEqual(report.startedAt + 50);
    expect((record?.endedAt ?? 0) - (record?.injectedAt ?? 0)).toBeGreaterThanOrEqual(100);
    expect(record?.recoveryMs).toBeGreaterThanOrEqual(145);
    expect(record?.recoveryMs).toBeLessThan(1000);
    expect(record?.error).toBeUndefined();
    expect(formatFaultReport(report)).toMatch(
      /^faults, seed 1: 1 applied of 1 planned\n {2}outage at 0\.\d{3} s for 0\.\d{3} s: recovered 0\.\d{3} s after$/,
    );
  });

  it("starts the next fault only after the last one's recovery, the quiet gap kept", async () => {
    const { fault, probe } = slowToRecover(300);
    const schedule = [
      { startMs: 0, durationMs: 50, kind: "outage" },
      { startMs: 100, durationMs: 50, kind: "outage" },
    ];
    const run = faultRun({ seed: 1, schedule, faults: { outage: fault }, probe, probeIntervalMs: 10, log: () => {} });
    await run.start();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const [first, second] = (await run.stop()).records;
    // Planned 50 ms apart, but the first needs 300 ms to come back: both must be seen to.
    expect(first?.recoveryMs).toBeGreaterThanOrEqual(295);
    expect(second?.recoveryMs).toBeGreaterThanOrEqual(295);
    expect(second?.injectedAt).toBeGreaterThanOrEqual((first?.recoveredAt ?? Number.POSITIVE_INFINITY) + 45);
  });

  it("heals at once when stopped during a fault, skips the rest, and waits for the recovery", async () => {
    const { fault, calls, probe } = slowToRecover(50);
    const schedule = [
      { startMs: 0, durationMs: 60_000, kind: "outage" },
      { startMs: 70_000, durationMs: 1000, kind: "outage" },
    ];
    const run = faultRun({ seed: 1, schedule, faults: { outage: fault }, probe, probeIntervalMs: 10, log: () => {} });
    await run.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const report = await run.stop();
    expect(calls).toEqual(["inject", "heal"]);
    expect(report.records).toHaveLength(1);
    expect(report.records[0]?.recoveryMs).toBeGreaterThanOrEqual(45);
  });

  it("records what a fault threw, and refuses a schedule with a kind it has no fault for", async () => {
    const broken: Fault = {
      name: "broken",
      inject: async () => {
        throw new Error("no such process");
      },
      heal: async () => {},
    };
    const run = faultRun({
      seed: 1,
      schedule: [{ startMs: 0, durationMs: 10, kind: "b" }],
      faults: { b: broken },
      log: () => {},
    });
    await run.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const report = await run.stop();
    expect(report.records[0]?.error).toBe("no such process");
    expect(formatFaultReport(report)).toContain("without a recovery");
    expect(formatFaultReport(report)).toContain("broken at 0.0");
    expect(() => faultRun({ seed: 1, schedule: [{ startMs: 0, durationMs: 1, kind: "x" }], faults: {} })).toThrow(/x/);
  });
});
