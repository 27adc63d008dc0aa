/**
 * The Firestore emulator of `npm run start:firebase`, under a supervisor that outlives the
 * server (it runs in a process group and session of its own, leading the emulator's group):
 *
 * - A crash of the server loses nothing: the emulator keeps running with everything in
 *   memory, and the next start:firebase re-attaches to it (firestore-local.ts).
 * - A crash of the emulator loses at most the last HOLDFAST_FIRESTORE_EXPORT_SECONDS
 *   (default 10): every that many seconds the supervisor exports the documents.
 * - Nothing is left behind: when no live server has claimed the data directory
 *   (server.lock) for HOLDFAST_FIRESTORE_ORPHAN_SECONDS (default 30), the supervisor
 *   exports and stops the emulator. SIGTERM does the same at once (a clean stop), and
 *   finishes even if the server that sent it is killed meanwhile.
 *
 * Usage (by firestore-local.ts): firestore-supervisor.ts <dataDir> <port>
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { alive } from "../node/src/data-dir-lock.ts";
import { launcherPath } from "./firestore-emulator.ts";
import { exportTo, importArgs } from "./firestore-export.ts";
import { groupMembers } from "./process-group.ts";

const [dataDir, portArg] = process.argv.slice(2);
if (!dataDir || !portArg) throw new Error("usage: firestore-supervisor.ts <dataDir> <port>");
const host = `127.0.0.1:${portArg}`;
const seconds = (name: string, fallback: number) => 1000 * Number(process.env[name] ?? fallback);
const exportEveryMs = seconds("HOLDFAST_FIRESTORE_EXPORT_SECONDS", 10);
const orphanAfterMs = seconds("HOLDFAST_FIRESTORE_ORPHAN_SECONDS", 30);
const log = (message: string) => console.log(`${new Date().toISOString()} supervisor ${process.pid}: ${message}`);

// Not detached: the emulator (a shell script and its Java child) stays in this group, so
// that whoever stops the group stops all of it.
const emulator = spawn(launcherPath(), ["start", "--host=127.0.0.1", `--port=${portArg}`, ...importArgs(dataDir)], {
  stdio: "inherit",
});
let stopping = false;
emulator.on("exit", (code, signal) => {
  if (stopping) return;
  log(`the emulator exited (${signal ?? code}) on its own: the next start imports the last export`);
  process.exit(1);
});

function serverAlive(): boolean {
  try {
    const { pid } = JSON.parse(readFileSync(join(dataDir as string, "server.lock"), "utf8")) as { pid: number };
    return alive(pid);
  } catch {
    return false; // no claim: no server
  }
}

async function answers(): Promise<boolean> {
  try {
    return (await (await fetch(`http://${host}/`, { signal: AbortSignal.timeout(2000) })).text()).trim() === "Ok";
  } catch {
    return false;
  }
}

async function saveState(): Promise<boolean> {
  try {
    await exportTo(host, dataDir as string);
    return true;
  } catch (error) {
    log(`export failed (${error instanceof Error ? error.message : String(error)}): the last export stays the state`);
    return false;
  }
}

let working: Promise<void> = Promise.resolve();
let lastExport = Date.now();
let orphanSince: number | undefined;
const tick = setInterval(
  () => {
    working = working.then(async () => {
      if (stopping || !(await answers())) return; // not ready yet
      if (serverAlive()) orphanSince = undefined;
      else orphanSince ??= Date.now();
      if (orphanSince !== undefined && Date.now() - orphanSince >= orphanAfterMs) {
        void stop(`no server has used it for ${orphanAfterMs / 1000} s`);
        return;
      }
      if (exportEveryMs > 0 && Date.now() - lastExport >= exportEveryMs) {
        lastExport = Date.now();
        await saveState();
      }
    });
  },
  Math.min(1000, Math.max(100, exportEveryMs || 1000)),
);

let stopAsked = false;
async function stop(reason: string): Promise<void> {
  if (stopAsked) return;
  stopAsked = true;
  clearInterval(tick);
  await working; // an export under way finishes first
  stopping = true;
  log(`stopping (${reason}): exporting, then stopping the emulator`);
  // Saved: the record goes, so that the next start knows that this emulator ended cleanly.
  if ((await answers()) && (await saveState())) {
    const record = join(dataDir as string, "emulator.json");
    if (existsSync(record) && readFileSync(record, "utf8").includes(`"pid":${process.pid},`)) rmSync(record);
  }
  // The whole group but this process (its SIGTERM handler ignores the signal now).
  process.kill(-process.pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (groupMembers(process.pid).some((pid) => pid !== process.pid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const pid of groupMembers(process.pid)) if (pid !== process.pid) process.kill(pid, "SIGKILL");
  process.exit(0);
}

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void stop(signal));
log(
  `started the emulator on ${host} (export every ${exportEveryMs / 1000} s, orphaned after ${orphanAfterMs / 1000} s)`,
);
