/** The emulator's log is kept to two files: rotated past its size when a new emulator starts. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { rotateLog } from "../local/rotate-log.ts";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it("leaves a small log, moves a large one to .1 (replacing the older), and skips a missing one", () => {
  dir = mkdtempSync(join(tmpdir(), "holdfast-log-"));
  const log = join(dir, "emulator.log");
  expect(rotateLog(log, 10)).toBe(false);
  writeFileSync(log, "short");
  expect(rotateLog(log, 10)).toBe(false);
  expect(readFileSync(log, "utf8")).toBe("short");
  writeFileSync(`${log}.1`, "oldest");
  writeFileSync(log, "x".repeat(11));
  expect(rotateLog(log, 10)).toBe(true);
  expect(readFileSync(`${log}.1`, "utf8")).toBe("x".repeat(11));
  expect(() => readFileSync(log)).toThrow();
});
