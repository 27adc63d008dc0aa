/** docs/proof.md's fault table: a fault that did not come back and a 500 during one stand out. */
import { expect, it } from "vitest";
import { faultTimeline } from "../report/fault-timeline.ts";
import type { FaultVerdict } from "../run/fault-verdict.ts";

it("shows each fault's timeline, the answers other than 503/504, and what did not recover", () => {
  const verdict: FaultVerdict = {
    seed: 4,
    faults: [
      {
        kind: "kill-server",
        startMs: 800,
        durationMs: 600,
        recoveryMs: 1200,
        answers: { "0": 30, "200": 2 },
        availability: 2 / 32,
      },
      { kind: "drop-response", startMs: 3500, durationMs: 600, answers: { "500": 3 }, availability: 0 },
    ],
    violations: ["drop-response at 3.500 s: 3 answer(s) 500 during the fault (only 503, 504 or a lost connection may)"],
    witnesses: [{ key: "w", fenceBefore: "1", heldAfter: true, fenceAfter: "2" }],
    report: { seed: 4, schedule: [], startedAt: 0, stoppedAt: 5000, records: [] },
  };
  const text = faultTimeline(verdict).join("\n");
  expect(text).toContain("| kill-server | 0.800 s | 0.600 s | 1.200 s | lost: 30, 200: 2 | none | 6.3 % |");
  expect(text).toContain("| drop-response | 3.500 s | 0.600 s | **not recovered** | 500: 3 | 500: 3 | 0.0 % |");
  expect(text).toContain("held after the restart, fence 1 → 2");
  expect(text).toContain("- **drop-response at 3.500 s: 3 answer(s) 500");
});
