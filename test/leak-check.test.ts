/**
 * Hardening issue, item 10: the check that fails a run which leaves processes behind
 * (test/support/leak-check-setup.ts) finds them by the marker in their environment, even
 * detached and orphaned, names them and kills them; a process that ends within the grace
 * is no leftover. The processes here carry a marker of their own, not the run's.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { procState } from "../node/src/data-dir-lock.ts";
import { leftovers, MARKER, markedProcesses } from "./support/leaks.ts";

const marker = `leak-check-test-${randomUUID()}`;
const env = { ...process.env, [MARKER]: marker };
const started: number[] = [];
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone, as it should be
    }
  }
});

function start(command: string): number {
  // Its own group, and a shell in between that exits: the sleep is an orphan, as a leftover of a killed server is.
  const child = spawn("sh", ["-c", `${command} & exit 0`], { env, detached: true, stdio: "ignore" });
  child.unref();
  started.push(child.pid as number);
  return child.pid as number;
}

it("names and kills a process left running with the run's marker", async () => {
  start("sleep 61");
  let marked = markedProcesses(marker);
  for (let i = 0; i < 50 && marked.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    marked = markedProcesses(marker);
  }
  const left = await leftovers({ marker, graceMs: 500 });
  expect(left).toEqual([expect.objectContaining({ cmdline: "sleep 61" })]);
  const [leak] = left;
  expect(markedProcesses(marker)).toEqual([]);
  // Killed: gone, or a zombie (this machine's pid 1 does not always reap orphans).
  expect(["Z", "X", undefined]).toContain(procState(leak?.pid as number));
});

it("lets a process that ends within the grace go, and sees nothing of other runs", async () => {
  start("sleep 0.3");
  const other = spawn("sleep", ["30"], { env: { ...process.env, [MARKER]: "another-run" }, stdio: "ignore" });
  try {
    expect(await leftovers({ marker, graceMs: 3000 })).toEqual([]);
  } finally {
    other.kill("SIGKILL");
  }
});
