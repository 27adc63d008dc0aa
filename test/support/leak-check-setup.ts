/**
 * Global setup of the whole run (root vitest.config.ts): every process the run starts is
 * marked (HOLDFAST_TEST_RUN, see leaks.ts), and this fails the run if any of them is still
 * running when it ends, after killing them and naming them.
 */
import { randomUUID } from "node:crypto";
import { leftovers, MARKER } from "./leaks.ts";

/** Called when the config loads: before any project's global setup starts a process. */
export function markThisRun(): void {
  // Once per runner process (the config may load twice); a run started by a test gets a
  // marker of its own, so that its check never takes the outer run's processes for its own.
  if (!process.env[MARKER]?.startsWith(`${process.pid}-`)) process.env[MARKER] = `${process.pid}-${randomUUID()}`;
}

export default function setup() {
  markThisRun();
  const marker = process.env[MARKER] as string;
  return async () => {
    // The runner's own children (its workers, workerd of the Workers pool, the stand-ins of
    // edge/test/stores-setup.ts, whose teardown runs after this one) are stopped by the
    // runner after this teardown. What the tests start is a grandchild of this process, or
    // an orphan once its parent is gone.
    const left = await leftovers({ marker, graceMs: 5000, ignore: (p) => p.ppid === process.pid });
    if (left.length === 0) return;
    const list = left.map((p) => `  pid ${p.pid} (parent ${p.ppid}): ${p.cmdline.slice(0, 200)}`).join("\n");
    process.exitCode = 1;
    throw new Error(`the tests left ${left.length} process(es) running (now killed):\n${list}`);
  };
}
