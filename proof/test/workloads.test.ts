/**
 * The semaphore and read-write workloads, with idempotent retries after client-side aborts
 * and short TTLs: quiet on the reference backend, and each broken server that misreads one
 * promise of theirs is found out, by the check that promise needs.
 */
import { createMemoryBackend } from "@holdfast/shared";
import { describe, expect, it } from "vitest";
import { check, formatViolations } from "../checker/checker.ts";
import { runWorkload, type Workload } from "../driver/workload.ts";
import { ignoresPermits, retryGrantsTwice, writerAsReader } from "./broken-requests.ts";
import { inProcess } from "./broken-servers.ts";

const load = (kind: Workload["kind"]): Workload => ({
  kind,
  clients: 8,
  keys: 2,
  attempts: 12,
  ttlMs: 200,
  holdMs: 260,
  waitShare: 0.5,
  waitMs: 400,
  abandonShare: 0.1,
  retryShare: 0.4,
  abortMs: 2,
  seed: 11,
  keyPrefix: `proof-${kind}:`,
});

describe("the proof's workloads", () => {
  it.each(["mutex", "semaphore", "read-write"] as const)("%s: nothing found on the reference backend", async (kind) => {
    const history = await runWorkload(inProcess(createMemoryBackend()), load(kind));
    const acquires = history.filter((op) => op.type === "acquire");
    expect(acquires.filter((op) => op.outcome === "ok").length).toBeGreaterThan(30);
    // Retries with their key, some after an abort whose outcome is unknown.
    expect(acquires.filter((op) => op.idempotencyKey !== undefined && op.outcome === "unknown").length).toBeGreaterThan(
      0,
    );
    expect(formatViolations(check(history))).toBe("");
  }, 60_000);

  it.each([
    ["a semaphore that ignores permits", "semaphore", ignoresPermits, "overlap"],
    ["a write lock granted as a read lock", "read-write", writerAsReader, "overlap"],
    ["an idempotent retry that grants twice (semaphore)", "semaphore", retryGrantsTwice, "idempotency"],
    ["an idempotent retry that grants twice (read-write)", "read-write", retryGrantsTwice, "idempotency"],
  ] as const)(
    "catches %s",
    async (_name, kind, make, expected) => {
      const violations = check(await runWorkload(inProcess(make()), load(kind)));
      expect(violations.map((v) => v.kind)).toContain(expected);
      expect(formatViolations(violations)).toMatch(/#\d+ client-\d+ acquire/);
    },
    60_000,
  );
});
