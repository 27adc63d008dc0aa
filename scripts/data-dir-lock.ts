/**
 * One data directory, one server. Two servers on one HOLDFAST_DATA_DIR would each keep
 * their own view of the same keys and issue the same fences twice, so a server claims
 * the directory (`server.lock`: its pid and command, created exclusively) before it opens
 * any state, and a second one refuses to start, naming the holder. A lock left by a
 * server that died (its pid is gone) is taken over. The claim ends when the process exits.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

interface Claim {
  pid: number;
  command: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readClaim(path: string): Claim | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Claim;
  } catch {
    return undefined;
  }
}

/** Claims `dir` for this process, or throws an Error that names the server holding it. */
export function claimDataDir(dir: string, command: string): void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "server.lock");
  const claim: Claim = { pid: process.pid, command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, JSON.stringify(claim));
      closeSync(fd);
      process.on("exit", () => {
        if (readClaim(path)?.pid === process.pid) rmSync(path, { force: true });
      });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = readClaim(path);
    if (holder && alive(holder.pid) && holder.pid !== process.pid) {
      throw new Error(
        `${dir} is in use by another server (pid ${holder.pid}, ${holder.command}, since ${holder.since}): stop it, or give this one its own HOLDFAST_DATA_DIR`,
      );
    }
    // Left by a server that is gone (or half written): set it aside and claim again.
    const stale = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, stale);
      rmSync(stale, { force: true });
    } catch {
      // Another starting server set it aside first; try again.
    }
  }
  throw new Error(`could not claim ${dir} (server.lock keeps changing): is another server starting?`);
}
