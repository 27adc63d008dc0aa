/**
 * The proof with store faults (`--store upstash|neon --faults`): the real server over a
 * throwaway Redis or Postgres of the proof's own, behind a fault proxy; the store killed,
 * paused and its connections reset during the workloads. No violation, every fault
 * recovered by itself, and the grant taken just before the store's kill still held after.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { FaultVerdict } from "../run/fault-verdict.ts";
import { runLocal } from "../run/local-run.ts";
import type { StoreName } from "../run/local-stores.ts";

const dataRoot = mkdtempSync(join(tmpdir(), "holdfast-proof-store-faults-"));
afterAll(() => rmSync(dataRoot, { recursive: true, force: true }));

const schedule = [
  { startMs: 800, durationMs: 600, kind: "kill-store" },
  { startMs: 2000, durationMs: 500, kind: "pause-store" },
  { startMs: 3000, durationMs: 500, kind: "reset-store" },
];

async function faultedRun(store: StoreName): Promise<{ violations: number; report: string; verdict: FaultVerdict }> {
  const result = await runLocal(store, {
    seed: 5,
    // Enough attempts that the workloads outlast the schedule (a fault they outran would be cut short).
    size: { clients: 6, keys: 2, attempts: 100, ttlMs: 300 },
    sizeFlags: "",
    dataRoot,
    faultPlan: { durationMs: 4000, schedule },
  });
  return { violations: result.violations, report: result.report, verdict: result.faults as FaultVerdict };
}

describe("the proof with store faults", () => {
  for (const store of ["upstash", "neon"] as const) {
    it(`${store}: its store killed, paused and reset during the workloads, no violation, every fault recovered`, async () => {
      const { violations, report, verdict } = await faultedRun(store);
      expect(report).toBe("");
      expect(violations).toBe(0);
      expect(verdict.faults.map((f) => f.kind)).toEqual(["kill-store", "pause-store", "reset-store"]);
      for (const fault of verdict.faults) {
        expect(fault.error).toBeUndefined();
        expect(fault.recoveryMs).toBeGreaterThanOrEqual(0);
        expect(fault.cutShort).toBeUndefined();
      }
      // The kill reached the workloads (the server answered 503 while its store was gone),
      // and the grant answered before it outlived the store's restart.
      expect(verdict.faults[0]?.answers["503"]).toBeGreaterThan(0);
      expect(verdict.witnesses).toHaveLength(1);
      expect(verdict.witnesses[0]?.heldAfter).toBe(true);
      expect(BigInt(verdict.witnesses[0]?.fenceAfter ?? "0")).toBeGreaterThan(
        BigInt(verdict.witnesses[0]?.fenceBefore ?? "0"),
      );
    }, 45_000);
  }

  it("refuses a kind the store does not have before starting anything", async () => {
    const plan = { durationMs: 1000, kinds: ["kill-server", "kill-store"] };
    await expect(
      runLocal("memory", {
        seed: 1,
        size: { clients: 1, keys: 1, attempts: 1, ttlMs: 100 },
        sizeFlags: "",
        dataRoot,
        faultPlan: plan,
      }),
    ).rejects.toThrow(/no fault kill-store for memory; it has: kill-server, drop-response, duplicate-request$/);
  });
});
