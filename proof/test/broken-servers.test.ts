/**
 * The checker proves it can fail: the mutex workload, run through the real HTTP app
 * against servers that each break one promise, is found out every time; against the
 * reference backend, under the same load, it finds nothing.
 */
import { createMemoryBackend } from "@holdfast/shared";
import { describe, expect, it } from "vitest";
import { check, formatViolations } from "../checker/checker.ts";
import { type MutexWorkload, runMutex } from "../driver/workload.ts";
import { BROKEN, inProcess } from "./broken-servers.ts";

const LOAD: MutexWorkload = {
  clients: 8,
  keys: 2,
  attempts: 12,
  ttlMs: 200,
  // Some holders outlive their lease: a release then names a grant that has gone.
  holdMs: 260,
  waitShare: 0.5,
  waitMs: 400,
  // Half the waiting acquires probed: their place in the queue is then known (queue order).
  probeShare: 0.5,
  abandonShare: 0.1,
  seed: 7,
  keyPrefix: "proof:",
};

describe("the proof's checker against broken servers", () => {
  it.each(Object.entries(BROKEN))(
    "catches %s",
    async (_name, make) => {
      const history = await runMutex(inProcess(make()), LOAD);
      const violations = check(history);
      expect(violations.length, "no violation found").toBeGreaterThan(0);
      expect(formatViolations(violations)).toMatch(/#\d+ client-\d+ acquire/);
      // Found for what it breaks: the queue's order is only visible through the probes.
      if (make === BROKEN["a queue served out of order"])
        expect(violations.map((v) => v.kind)).toContain("queue-order");
    },
    60_000,
  );

  it("finds nothing on the reference backend under the same load", async () => {
    const history = await runMutex(inProcess(createMemoryBackend()), LOAD);
    expect(history.filter((op) => op.type === "acquire" && op.outcome === "ok").length).toBeGreaterThan(25);
    expect(formatViolations(check(history))).toBe("");
  }, 60_000);
});
