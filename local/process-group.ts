/** Process groups as /proc shows them (Linux): who is in one, and stopping all of it. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { procState } from "../node/src/data-dir-lock.ts";

/** The live (not zombie) processes whose process group is `pgid`. */
export function groupMembers(pgid: number): number[] {
  if (!existsSync("/proc/self/stat")) {
    // No /proc (not Linux): whether the group has anyone at all, zombies included.
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const members: number[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // After "(comm)": state, ppid, pgrp.
      const [, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && !["Z", "X"].includes(procState(pid) ?? "")) members.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

/** SIGTERM to the group, then SIGKILL to what is left of it after `graceMs`. */
export async function stopProcessGroup(pgid: number, graceMs: number): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-pgid, name);
    } catch {
      // gone already
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (groupMembers(pgid).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  signal("SIGKILL");
}
