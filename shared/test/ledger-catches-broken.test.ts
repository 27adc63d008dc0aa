import { describe, expect, it } from "vitest";
import { runContention } from "../src/contract/ledger.ts";
import { createMemoryBackend } from "../src/memory/index.ts";
import { checkThenSetBackend, clockFenceBackend, ignoresLimitBackend } from "./fixtures/broken-backends.ts";

const exclusiveLoad = { workers: 16, keys: 3, grantsPerWorker: 8, holdMs: 2 };
const semaphoreLoad = { workers: 12, keys: 2, grantsPerWorker: 6, holdMs: 3, mode: "shared", limit: 3 } as const;

describe("the contention ledger has teeth", () => {
  it("finds overlapping sections in a check-then-set backend", async () => {
    const report = await runContention(checkThenSetBackend(), exclusiveLoad);
    expect(report.clientOverlaps).toBeGreaterThan(0);
    expect(report.storeOverlaps).toBeGreaterThan(0);
  });

  it("finds repeated fences in a backend that takes fences from the clock", async () => {
    const report = await runContention(clockFenceBackend(), exclusiveLoad);
    expect(report.fenceViolations).toBeGreaterThan(0);
    expect(report.clientOverlaps).toBe(0);
  });

  it("finds a semaphore over its limit", async () => {
    const report = await runContention(ignoresLimitBackend(), semaphoreLoad);
    expect(report.clientOverlaps).toBeGreaterThan(0);
    expect(report.storeOverlaps).toBeGreaterThan(0);
  });

  it("and finds nothing in the reference backend under the same loads", async () => {
    const exclusive = await runContention(createMemoryBackend(), exclusiveLoad);
    const semaphore = await runContention(createMemoryBackend(), semaphoreLoad);
    for (const report of [exclusive, semaphore]) {
      expect(report).toMatchObject({ clientOverlaps: 0, storeOverlaps: 0, fenceViolations: 0, lostReleases: 0 });
      // Real contention happened: more attempts than grants.
      expect(report.attempts).toBeGreaterThan(report.grants);
    }
  });
});
