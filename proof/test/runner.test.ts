/**
 * One run: every workload against a deployment, counted and checked, with a fault schedule
 * (proof/faults/ plugs in here) started before the workloads and stopped after them, its
 * timeline kept in the result.
 */
import { createMemoryBackend } from "@holdfast/shared";
import { describe, expect, it } from "vitest";
import { type FaultContext, runProof } from "../run/runner.ts";
import { inProcess } from "./broken-servers.ts";

describe("a run of the proof", () => {
  it("runs every workload between the faults' start and stop, and keeps what they report", async () => {
    const calls: string[] = [];
    let context: FaultContext | undefined;
    const result = await runProof({
      target: inProcess(createMemoryBackend()),
      store: "memory",
      command: "npm run proof -- --store memory",
      seed: 8,
      size: { clients: 3, keys: 1, attempts: 4, ttlMs: 200 },
      settings: [],
      keyPrefix: "proof:",
      faults: {
        async start(given) {
          context = given;
          calls.push("start");
        },
        async stop() {
          calls.push("stop");
          return [{ atMs: 5, fault: "none" }];
        },
      },
    });
    expect(calls).toEqual(["start", "stop"]);
    expect(context).toMatchObject({ store: "memory", seed: 8, url: "http://proof.test" });
    expect(result.workloads.map((w) => w.kind)).toEqual(["mutex", "semaphore", "read-write"]);
    expect(result.grants).toBe(result.workloads.reduce((sum, w) => sum + w.grants, 0));
    expect(result.grants).toBeGreaterThan(5);
    expect(result).toMatchObject({ violations: 0, availability: 1, faults: [{ atMs: 5, fault: "none" }] });
  }, 30_000);

  it("runs rounds on keys of their own until the goal of grants, each with its own schedule, and sums them", async () => {
    const seeds: number[] = [];
    const prefixes = new Set<string>();
    const backend = createMemoryBackend();
    const target = inProcess(backend);
    const result = await runProof({
      target: {
        ...target,
        fetch: (url, init) => {
          const key = JSON.parse(String(init.body)).key as string | undefined;
          if (key) prefixes.add(key.replace(/(mutex|semaphore|read-write):\d+$/, ""));
          return (target.fetch ?? fetch)(url, init);
        },
      },
      store: "memory",
      command: "npm run proof -- --store memory --grants 60",
      seed: 8,
      size: { clients: 3, keys: 1, attempts: 4, ttlMs: 200 },
      settings: [],
      keyPrefix: "proof:",
      grants: 60,
      faults: {
        async start(given) {
          seeds.push(given.seed);
        },
        stop: async () => undefined,
      },
    });
    const rounds = result.rounds ?? 1;
    expect(rounds).toBeGreaterThan(1);
    expect(result.grants).toBeGreaterThanOrEqual(60);
    expect(result.grants).toBe(result.workloads.reduce((sum, w) => sum + w.grants, 0));
    // One schedule a round, seeded by the run's seed and the round; one key prefix a round.
    expect(seeds).toEqual(Array.from({ length: rounds }, (_, i) => 8 + i));
    expect(prefixes.size).toBe(rounds);
    expect(result.violations).toBe(0);
  }, 60_000);
});
