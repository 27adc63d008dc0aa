/**
 * One data directory, one server. Two servers on one HOLDFAST_DATA_DIR would each keep
 * their own view of the same keys and issue the same fences twice, so a server claims
 * the directory (`server.lock`: its pid and command, created exclusively) before it opens
 * any state, and a second one refuses to start, naming the holder. A lock left by a
 * server that died (its pid is gone, or is a zombie its parent has not reaped yet) is
 * taken over. The claim ends when the process exits.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

interface Claim {
  pid: number;
  command: string;
  since: string;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  // A process killed a moment ago stays a zombie (Z, then X) until its parent reaps it, and
  // a zombie still answers kill(pid, 0); it runs no code and holds nothing.
  return !["Z", "X"].includes(procState(pid) ?? "");
}

/** The state letter of /proc/<pid>/stat (after "(comm)", which may itself hold ") "). */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined; // gone, or no /proc (not Linux): kill(pid, 0) has answered
  }
}

function readClaim(path: string): Claim | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Claim;
  } catch {
    return undefined;
  }
}

/**
 * Creates `path` holding `claim`, atomically: written to a file of its own first, then
 * linked into place, which fails if the path exists. Nobody ever sees it half written.
 */
function createClaim(path: string, claim: Claim): boolean {
  const draft = `${path}.${process.pid}.draft`;
  writeFileSync(draft, JSON.stringify(claim));
  try {
    linkSync(draft, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    rmSync(draft, { force: true });
  }
}

/** Claims `dir` for this process, or throws an Error that names the server holding it. */
export function claimDataDir(dir: string, command: string): void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "server.lock");
  const claim: Claim = { pid: process.pid, command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createClaim(path, claim)) {
      process.on("exit", () => {
        if (readClaim(path)?.pid === process.pid) rmSync(path, { force: true });
      });
      return;
    }
    const holder = readClaim(path);
    if (holder && alive(holder.pid) && holder.pid !== process.pid) {
      throw new Error(
        `${dir} is in use by another server (pid ${holder.pid}, ${holder.command}, since ${holder.since}): stop it, or give this one its own HOLDFAST_DATA_DIR`,
      );
    }
    // Left by a server that is gone: set it aside, and make sure it was that one (a server
    // starting at the same moment may have claimed the directory in between).
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch {
      continue; // another starting server set it aside first
    }
    const moved = readClaim(aside);
    if (moved && alive(moved.pid) && moved.pid !== process.pid) {
      // Not the dead claim: give it back (the path is free, or its new owner is as live).
      try {
        linkSync(aside, path);
      } catch {
        // someone claimed it meanwhile; that claim stands
      }
    }
    rmSync(aside, { force: true });
  }
  throw new Error(`could not claim ${dir} (server.lock keeps changing): is another server starting?`);
}
