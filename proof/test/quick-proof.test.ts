/**
 * `npm run proof -- --quick` on the memory store and on Durable Objects, each started and
 * stopped by the proof itself: every workload runs and the checker finds nothing. The
 * proof runs in a process group of its own, stopped whole if the test gives up on it.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stopProcessGroup } from "../../local/process-group.ts";
import type { ProofResult } from "../run/result.ts";

const out = mkdtempSync(join(tmpdir(), "holdfast-proof-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function quickProof(store: string): Promise<{ code: number | null; output: string }> {
  const args = ["--import", "tsx/esm", "proof/cli.ts", "--store", store, "--quick", "--seed", "5", "--out", out];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const timer = setTimeout(() => void stopProcessGroup(child.pid as number, 5_000), 40_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  // Whatever it started (workerd) goes with its group.
  await stopProcessGroup(child.pid as number, 2_000);
  return { code, output };
}

describe("npm run proof -- --quick", () => {
  it.each(["memory", "durable-object"])("%s: every workload, no violation", async (store) => {
    const { code, output } = await quickProof(store);
    expect(output).toContain("no violation");
    expect(code, output).toBe(0);
    const result = JSON.parse(readFileSync(join(out, `${store}.json`), "utf8")) as ProofResult;
    expect(result.workloads.map((w) => w.kind)).toEqual(["mutex", "semaphore", "read-write"]);
    expect(result.grants).toBeGreaterThan(60);
    expect(result.violations).toBe(0);
  }, 45_000);
});
