/**
 * A shifted instance clock: the fault of a host whose wall clock is off (Firestore's
 * instances measure their skew against the store's time and must refuse to grant beyond
 * the tolerance). The server is started with `env` (a preload, through NODE_OPTIONS, that
 * makes Date.now() read a shift from a file it watches); the fault writes the shift and
 * heals by writing 0. Timers and performance.now() are not shifted, as a stepped wall
 * clock does not move the monotonic one. The shift survives a restart, as a host's would.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Fault } from "./fault.ts";

/** Plain JavaScript, loaded before the server's own code; reads again within 25 ms of a change. */
const PRELOAD = `
import { readFileSync, watchFile } from "node:fs";
const file = process.env.HOLDFAST_PROOF_CLOCK_FILE;
const realNow = Date.now;
let shift = 0;
const read = () => { try { shift = Number(readFileSync(file, "utf8")) || 0; } catch { shift = 0; } };
read();
watchFile(file, { interval: 25, persistent: false }, read);
Date.now = () => realNow() + shift;
`;

export interface ClockShift {
  /** Environment for the server's process (ManagedProcess's `env`). */
  env: Record<string, string>;
  /** Shifts the clock by `shiftMs` (negative: behind) for the fault's duration. */
  fault(shiftMs: number, name?: string): Fault;
  remove(): void;
}

export function clockShift(): ClockShift {
  const dir = mkdtempSync(join(tmpdir(), "holdfast-proof-clock-"));
  const file = join(dir, "shift-ms");
  writeFileSync(file, "0");
  const preload = `--import=data:text/javascript;base64,${Buffer.from(PRELOAD).toString("base64")}`;
  // Twice the preload's polling interval: the shift is in force when inject() resolves.
  const write = async (shiftMs: number) => {
    writeFileSync(file, String(shiftMs));
    await new Promise((resolve) => setTimeout(resolve, 100));
  };
  return {
    env: {
      NODE_OPTIONS: [process.env.NODE_OPTIONS, preload].filter(Boolean).join(" "),
      HOLDFAST_PROOF_CLOCK_FILE: file,
    },
    fault: (shiftMs, name = `clock ${shiftMs > 0 ? "+" : ""}${shiftMs} ms`) => ({
      name,
      inject: () => write(shiftMs),
      heal: () => write(0),
    }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
