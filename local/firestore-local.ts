/**
 * The Firestore emulator of `npm run start:firebase` (no FIRESTORE_EMULATOR_HOST): the one
 * still running for this data directory, if a server that crashed left one (found through
 * `emulator.json`, written here when one starts), so that nothing it held is lost;
 * otherwise a new one under firestore-supervisor.ts, which imports the last export.
 */
import { spawn } from "node:child_process";
import { openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { alive } from "../node/src/data-dir-lock.ts";
import { freePort, OFFLINE_ENV } from "./firestore-emulator.ts";
import { exportTo } from "./firestore-export.ts";
import { groupMembers, stopProcessGroup } from "./process-group.ts";
import { rotateLog } from "./rotate-log.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const SUPERVISOR = "local/firestore-supervisor.ts";

/** `<dataDir>/emulator.json`: the supervisor leads the emulator's process group (pid = pgid). */
export interface EmulatorRecord {
  pid: number;
  pgid: number;
  host: string;
  startedAt: string;
}

export interface LocalEmulator extends EmulatorRecord {
  /** True when this is the emulator a previous server left running. */
  attached: boolean;
  /** The previous emulator ended without a final export (it crashed): its last changes are lost. */
  crashed: boolean;
  /** Still running (its group has members). */
  running(): boolean;
  /** Exports and stops it, and waits until its whole group is gone. */
  stop(): Promise<void>;
}

export function readEmulatorRecord(dataDir: string): EmulatorRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, "emulator.json"), "utf8")) as EmulatorRecord;
  } catch {
    return undefined;
  }
}

async function answers(host: string): Promise<boolean> {
  try {
    return (await (await fetch(`http://${host}/`, { signal: AbortSignal.timeout(2000) })).text()).trim() === "Ok";
  } catch {
    return false;
  }
}

function isSupervisor(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(SUPERVISOR);
  } catch {
    return false;
  }
}

function isEmulator(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("cloud-firestore-emulator");
  } catch {
    return false;
  }
}

/** Call with the data directory claimed (data-dir-lock.ts): no other server is attaching. */
export async function localEmulator(dataDir: string): Promise<LocalEmulator> {
  const record = readEmulatorRecord(dataDir);
  if (record && isSupervisor(record.pid) && alive(record.pid)) {
    if (await answers(record.host)) return handle(record, { attached: true, crashed: false });
    // Alive but not answering (hung): stopping it exports what it can; start afresh.
    await stopSupervised(record);
  } else if (record && groupMembers(record.pgid).some(isEmulator)) {
    // Its supervisor was killed alone: nothing would ever stop this one. Keep what it holds.
    const saved =
      (await answers(record.host)) &&
      (await exportTo(record.host, dataDir).then(
        () => true,
        () => false,
      ));
    await stopProcessGroup(record.pgid, 5000);
    if (saved) rmSync(join(dataDir, "emulator.json"), { force: true });
  }
  // A record left now: its emulator ended without the final export that removes it.
  const crashed = readEmulatorRecord(dataDir) !== undefined;
  const port = await freePort();
  rotateLog(join(dataDir, "emulator.log"));
  const log = openSync(join(dataDir, "emulator.log"), "a");
  const child = spawn(process.execPath, ["--import", "tsx/esm", SUPERVISOR, dataDir, String(port)], {
    cwd: root,
    detached: true,
    env: { ...process.env, ...OFFLINE_ENV },
    stdio: ["ignore", log, log],
  });
  child.unref(); // it outlives this process on purpose
  const started: EmulatorRecord = {
    pid: child.pid as number,
    pgid: child.pid as number,
    host: `127.0.0.1:${port}`,
    startedAt: new Date().toISOString(),
  };
  const deadline = Date.now() + 60_000;
  while (!(await answers(started.host))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopProcessGroup(started.pgid, 1000);
      const tail = readFileSync(join(dataDir, "emulator.log"), "utf8").slice(-4000);
      throw new Error(`the Firestore emulator did not start (log ${join(dataDir, "emulator.log")}):\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const path = join(dataDir, "emulator.json");
  writeFileSync(`${path}.draft`, JSON.stringify(started));
  renameSync(`${path}.draft`, path);
  return handle(started, { attached: false, crashed });
}

/** SIGTERM to the supervisor (it exports, then stops its group), SIGKILL to the group if it hangs. */
async function stopSupervised(record: EmulatorRecord): Promise<void> {
  try {
    process.kill(record.pid, "SIGTERM");
  } catch {
    // gone already
  }
  // An export of a big store takes a while: give it a minute before killing.
  const deadline = Date.now() + 60_000;
  while (groupMembers(record.pgid).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (groupMembers(record.pgid).length > 0) await stopProcessGroup(record.pgid, 2000);
  // emulator.json stays unless the supervisor's final export succeeded (it removes it then).
}

function handle(record: EmulatorRecord, how: { attached: boolean; crashed: boolean }): LocalEmulator {
  return {
    ...record,
    ...how,
    running: () => groupMembers(record.pgid).length > 0,
    stop: () => stopSupervised(record),
  };
}
