/**
 * Hardening issue, item 10: what the tests start must be gone when they end. A killed
 * server once left its emulators running, and a machine that keeps such leftovers slows
 * every later run. Every process of a run carries a marker in its environment (inherited
 * by whatever it starts, detached or not, Java included), so what is still running at the
 * end is found in /proc/<pid>/environ, whoever its parent is by then.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";

export const MARKER = "HOLDFAST_TEST_RUN";

export interface Leftover {
  pid: number;
  ppid: number;
  cmdline: string;
}

/** Processes of this user whose environment holds `MARKER=<marker>` (others' are unreadable). */
export function markedProcesses(marker: string): Leftover[] {
  const needle = `${MARKER}=${marker}`;
  const found: Leftover[] = [];
  if (!existsSync("/proc/self/environ")) return found; // not Linux: nothing to check with
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(needle)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // A zombie runs nothing and goes when its parent reaps it.
      if (state === "Z" || state === "X") continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
      found.push({ pid, ppid: Number(ppid), cmdline });
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return found;
}

export interface LeakCheck {
  marker: string;
  /** How long processes that are on their way out get to go (ms). */
  graceMs: number;
  /** Not leftovers: e.g. the pool's own workers, which the runner stops after this check. */
  ignore?: (process: Leftover) => boolean;
}

/** The marked processes still running after the grace; they are SIGKILLed before this returns. */
export async function leftovers({ marker, graceMs, ignore = () => false }: LeakCheck): Promise<Leftover[]> {
  const deadline = Date.now() + graceMs;
  let left = markedProcesses(marker).filter((p) => !ignore(p));
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = markedProcesses(marker).filter((p) => !ignore(p));
  }
  for (const { pid } of left) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // went at the last moment
    }
  }
  // A SIGKILL takes effect asynchronously (a loaded machine may take a while): return once
  // the killed are gone (or zombies), so that nothing of them runs after this check.
  const killed = new Set(left.map((p) => p.pid));
  for (let i = 0; i < 50 && markedProcesses(marker).some((p) => killed.has(p.pid)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return left;
}
