/** Leader election against the real app: one leader at a time, increasing terms. */
import { describe, expect, it } from "vitest";
import { campaign } from "../src/election.ts";
import type { createClient } from "../src/index.ts";
import { useTestServer } from "./support/server.ts";

let client: ReturnType<typeof createClient>;
useTestServer((_, connected) => {
  client = connected;
});

/** Resolves when `check` holds, polling every 10 ms (no timing assumptions beyond the test timeout). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe("campaign", () => {
  it("elects one leader, hands over on resign with a larger term, and demotes", async () => {
    const log: string[] = [];
    const terms: string[] = [];
    const candidate = (name: string) =>
      campaign(client, "leader:a", {
        ttlMs: 2000,
        onElected: (term) => {
          log.push(`${name} elected`);
          terms.push(term);
        },
        onDemoted: () => {
          log.push(`${name} demoted`);
        },
      });
    const a = candidate("a");
    await until(() => a.leader !== undefined);
    const b = candidate("b");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(b.leader).toBeUndefined();
    expect(log).toEqual(["a elected"]);

    await a.resign();
    await until(() => b.leader !== undefined);
    expect(log).toEqual(["a elected", "a demoted", "b elected"]);
    expect(terms[1] && terms[0] && terms[1] > terms[0]).toBe(true);
    expect(b.leader?.fence).toBe(terms[1]);

    await b.resign();
    expect(log.at(-1)).toBe("b demoted");
    expect((await client.getByKey({ key: "leader:a" })).locked).toBe(false);
  });

  it("demotes a leader whose lease is lost and campaigns again", async () => {
    const events: string[] = [];
    const c = campaign(client, "leader:b", {
      ttlMs: 600,
      onElected: (term) => {
        events.push(`elected ${term}`);
      },
      onDemoted: (reason) => {
        events.push(`demoted: ${(reason as Error).message}`);
      },
    });
    await until(() => c.leader !== undefined);
    const first = c.leader;
    // Someone with an admin token revokes the lease; the next extend finds it gone.
    await client.release({ lockId: first?.lockId ?? "" });
    await until(() => events.length >= 3);
    expect(events[1]).toMatch(/^demoted: lease lost/);
    expect(events[2]).toMatch(/^elected /);
    expect(c.leader?.fence && first?.fence && c.leader.fence > first.fence).toBe(true);
    await c.resign();
    // Resigning says so too (it used to pass the live lease's reason: undefined).
    expect(events[3]).toMatch(/^demoted: .*abort/i);
  });

  it("resigns when its signal aborts, and contains throwing callbacks", async () => {
    const errors: unknown[] = [];
    const controller = new AbortController();
    const c = campaign(client, "leader:c", {
      signal: controller.signal,
      onElected: () => {
        throw new Error("callback bug");
      },
      onError: (error) => errors.push(error),
    });
    await until(() => errors.length > 0);
    expect(c.leader).toBeDefined();
    controller.abort();
    await c.resign();
    expect(c.leader).toBeUndefined();
    expect((await client.getByKey({ key: "leader:c" })).locked).toBe(false);
  });
});
