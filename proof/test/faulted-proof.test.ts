/**
 * The proof with faults (`--store memory --faults`): a short run of the real memory server,
 * killed and restarted and its answers dropped during the workloads, must show no violation
 * and every fault recovered. And the fault rule must catch a server that answers 500 while
 * a fault is on (here an in-process one, broken on purpose while its fault lasts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryBackend } from "@holdfast/shared";
import { afterAll, describe, expect, it } from "vitest";
import type { Target } from "../driver/http.ts";
import { faultRun } from "../faults/run.ts";
import { type FaultVerdict, judgeFaults } from "../run/fault-verdict.ts";
import { runLocal } from "../run/local-run.ts";
import { runProof } from "../run/runner.ts";
import { inProcess } from "./broken-servers.ts";

const dataRoot = mkdtempSync(join(tmpdir(), "holdfast-proof-faulted-"));
afterAll(() => rmSync(dataRoot, { recursive: true, force: true }));

describe("the proof with faults", () => {
  it("memory: a kill and dropped answers during the workloads, no violation, every fault recovered", async () => {
    const result = await runLocal("memory", {
      seed: 3,
      size: { clients: 6, keys: 2, attempts: 30, ttlMs: 300 },
      sizeFlags: "",
      dataRoot,
      faultPlan: {
        durationMs: 5000,
        schedule: [
          { startMs: 800, durationMs: 600, kind: "kill-server" },
          { startMs: 3500, durationMs: 600, kind: "drop-response" },
        ],
      },
    });
    const verdict = result.faults as FaultVerdict;
    expect(result.report).toBe("");
    expect(result.violations).toBe(0);
    expect(verdict.faults.map((f) => f.kind)).toEqual(["kill-server", "drop-response"]);
    for (const fault of verdict.faults) {
      expect(fault.recoveryMs).toBeGreaterThanOrEqual(0);
      expect(fault.cutShort).toBeUndefined();
    }
    // The kill lost connections; the grant taken just before it outlived the restart.
    expect(verdict.faults[0]?.answers["0"]).toBeGreaterThan(0);
    expect(verdict.witnesses).toHaveLength(1);
    expect(verdict.witnesses[0]?.heldAfter).toBe(true);
    // The workloads were still running at the later fault: their histories span the restart.
    const later = Object.values(verdict.faults[1]?.answers ?? {});
    expect(later.reduce((sum, n) => sum + n, 0)).toBeGreaterThan(0);
  }, 40_000);

  it("flags a server that answers 500 while a fault is on", async () => {
    let broken = false;
    const healthy = inProcess(createMemoryBackend());
    const target: Target = {
      ...healthy,
      fetch: async (url, init) =>
        broken ? new Response("{}", { status: 500 }) : (healthy.fetch as NonNullable<Target["fetch"]>)(url, init),
    };
    const run = faultRun({
      seed: 1,
      schedule: [{ startMs: 50, durationMs: 300, kind: "break" }],
      faults: {
        break: {
          name: "answer 500",
          inject: async () => {
            broken = true;
          },
          heal: async () => {
            broken = false;
          },
        },
      },
      probe: async () => !broken,
      log: () => {},
    });
    const result = await runProof({
      target,
      store: "memory",
      command: "test",
      seed: 1,
      size: { clients: 3, keys: 1, attempts: 20, ttlMs: 200 },
      settings: [],
      keyPrefix: "proof:",
      faults: {
        start: () => run.start(),
        stop: () => run.stop(),
        judge: (report, histories) => judgeFaults(report as Awaited<ReturnType<typeof run.stop>>, histories),
      },
    });
    const verdict = result.faults as FaultVerdict;
    expect(verdict.faults[0]?.answers["500"]).toBeGreaterThan(0);
    expect(result.violations).toBeGreaterThan(0);
    expect(result.report).toMatch(/fault rule: break at .*answer\(s\) 500 during the fault/);
  }, 30_000);
});
