/**
 * Hardening issue, item 9: a restart right after a SIGKILL refused to start ("in use by
 * pid …") because the killed server was still a zombie (its parent had not reaped it yet),
 * and a zombie answers kill(pid, 0). A zombie holds nothing: its claim is taken over.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { claimDataDir, procState } from "../node/src/data-dir-lock.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "holdfast-zombie-"));
let parent: ChildProcess | undefined;
afterAll(() => {
  // The whole group: the parent that never reaps, and with it its zombie.
  if (parent?.pid) {
    try {
      process.kill(-parent.pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

it("takes over a claim whose holder is a zombie nobody has reaped", async () => {
  // `exec sleep` replaces the shell that started the holder: its parent is now a process
  // that never waits for children, so the holder stays a zombie once it is killed.
  const holderCommand = `${JSON.stringify(process.execPath)} --import tsx/esm test/support/claim-dir.ts ${JSON.stringify(dir)} & exec sleep 120`;
  parent = spawn("sh", ["-c", holderCommand], { cwd: root, detached: true, stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  parent.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  const deadline = Date.now() + 30_000;
  while (!/claimed (\d+)/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const holder = Number(output.match(/claimed (\d+)/)?.[1]);
  expect(holder).toBeGreaterThan(0);
  expect(() => claimDataDir(dir, "second")).toThrow(new RegExp(`in use by another server \\(pid ${holder}`));

  process.kill(holder, "SIGKILL");
  while (procState(holder) !== "Z" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(procState(holder)).toBe("Z");
  expect(() => claimDataDir(dir, "after the crash")).not.toThrow();
  expect(JSON.parse(readFileSync(join(dir, "server.lock"), "utf8"))).toMatchObject({ pid: process.pid });
}, 60_000);
