/**
 * docs/proof.md from results: a row per store with its rate and the time a million grants
 * would take at it, the command that repeats each run, the sizes reached stated as they
 * are, and a violation's operations shown in full.
 */
import { describe, expect, it } from "vitest";
import { reportOf } from "../report/assemble.ts";
import type { ProofResult } from "../run/result.ts";

const result = (store: string, grants: number, violations = 0): ProofResult => ({
  store,
  command: `npm run proof -- --store ${store} --seed 4`,
  seed: 4,
  size: { clients: 2, keys: 1, attempts: 3, ttlMs: 300 },
  settings: ["backend: test"],
  workloads: [
    {
      kind: "mutex",
      requests: { ok: 5, fail: 1, unknown: 1 },
      acquires: { ok: 3, fail: 1, unknown: 1 },
      grants,
      aborted: 1,
      unknownByStatus: {},
      violations,
    },
  ],
  startedAt: "2026-12-07T00:00:00.000Z",
  machine: "2 × CPU, Node v20",
  durationMs: 10_000,
  grants,
  grantsPerSecond: grants / 10,
  availability: 1,
  violations,
  report: violations > 0 ? 'overlap on "k": two grants held at once' : "",
});

describe("the proof's report", () => {
  it("states each store's run and the sizes reached", () => {
    const text = reportOf([result("memory", 1_000), result("neon", 2_000, 1)]);
    expect(text).toContain("| memory | 4 | 1,000 | 10.0 s | 100 | 166.7 min | 100.00 % | 0 |");
    expect(text).toContain("npm run proof -- --store neon --seed 4");
    expect(text).toContain(
      "Sizes reached (each store's largest run): 1,000 to 2,000 grants per store, not the 1,000,000 of the goal yet.",
    );
    expect(text).toContain('overlap on "k": two grants held at once');
  });

  it("shows a store's run with faults beside its run without, and counts each store's largest", () => {
    const faulted = { ...result("memory", 50), faults: { applied: 0 } };
    const text = reportOf([faulted, result("memory", 1_000), result("neon", 2_000)]);
    expect(text.indexOf("## memory\n")).toBeLessThan(text.indexOf("## memory, with faults"));
    expect(text).toContain("| memory, with faults | 4 | 50 |");
    expect(text).toContain("Sizes reached (each store's largest run): 1,000 to 2,000 grants per store");
  });

  it("sets a store's rate beside the store's own pace measured in the same run", () => {
    const rates = (serial: number, parallel: number) => ({ serial, parallel, documents: 288, seconds: 10 });
    const text = reportOf([
      { ...result("firestore", 1_000), storeRates: { before: rates(80, 400), after: rates(50, 200) } },
    ]);
    expect(text).toContain(
      "80 / 50 per s on one document, one after the other; 400 / 200 per s on 288 documents at once",
    );
    expect(text).toContain("the workloads' 100 grants/s are 0.25× / 0.50× of the parallel pace");
  });
});
