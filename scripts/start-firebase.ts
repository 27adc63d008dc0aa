/**
 * `npm run start:firebase`: the exported Firebase function (`functions/src/index.ts`) on
 * 127.0.0.1:8788 (PORT overrides), served by Google's Functions Framework as Cloud
 * Functions serves it, over the real Firestore emulator: the one at FIRESTORE_EMULATOR_HOST,
 * or the local one of .holdfast/firestore/ (firestore-local.ts): re-attached to if a crash
 * of this process left it running, else started under firestore-supervisor.ts, which
 * imports the last export, exports periodically and at a clean stop, and stops it when no
 * server comes back.
 */
import type { Server } from "node:http";
import { join, resolve } from "node:path";
import { checkConfigFully } from "@holdfast/shared";
import { DEMO_PROJECT, OFFLINE_ENV } from "../local/firestore-emulator.ts";
import { type LocalEmulator, localEmulator } from "../local/firestore-local.ts";
import { serveFunction } from "../local/serve-function.ts";
import { claimDataDir } from "../node/src/data-dir-lock.ts";

Object.assign(process.env, OFFLINE_ENV);
const port = Number(process.env.PORT ?? 8788);
const hostname = process.env.HOST ?? "127.0.0.1";
const token = process.env.HOLDFAST_TOKEN ?? "dev";
process.env.HOLDFAST_TOKEN = token;
process.env.GCLOUD_PROJECT ??= DEMO_PROJECT;
try {
  await checkConfigFully(process.env);
} catch (error) {
  console.error(`holdfast: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

// The local emulator's periods (firestore-supervisor.ts): a typo must not turn them off silently.
for (const name of ["HOLDFAST_FIRESTORE_EXPORT_SECONDS", "HOLDFAST_FIRESTORE_ORPHAN_SECONDS"]) {
  const value = process.env[name];
  if (value !== undefined && !(value.trim() !== "" && Number(value) >= 0)) {
    console.error(`holdfast: ${name} must be a number of seconds (≥ 0), not ${JSON.stringify(value)}`);
    process.exit(1);
  }
}

let emulator: LocalEmulator | undefined;
let starting: Promise<LocalEmulator> | undefined;
let server: Server | undefined;
let stopping = false;
// Installed before the emulator starts, so that a Ctrl-C during start-up stops it too. The
// server stops taking requests first, so that the export the emulator makes at its stop
// is the last state.
const stop = () => {
  if (stopping) return;
  stopping = true;
  server?.closeAllConnections();
  server?.close();
  const emulatorStopped = (emulator ? Promise.resolve(emulator) : starting)?.then((started) => started.stop());
  void Promise.allSettled([emulatorStopped]).finally(() => process.exit(0));
};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, stop);

let where: string;
if (process.env.FIRESTORE_EMULATOR_HOST) {
  where = `Firestore emulator at ${process.env.FIRESTORE_EMULATOR_HOST}`;
} else {
  const dataDir = join(resolve(process.env.HOLDFAST_DATA_DIR ?? ".holdfast"), "firestore");
  try {
    claimDataDir(dataDir, "npm run start:firebase");
  } catch (error) {
    console.error(`holdfast: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  starting = localEmulator(dataDir);
  const local = await starting;
  emulator = local;
  if (stopping) await new Promise(() => {}); // stop() is stopping it
  process.env.FIRESTORE_EMULATOR_HOST = local.host;
  if (local.crashed) {
    console.error(
      `holdfast: the last Firestore emulator of ${dataDir} ended without its final export (a crash): the changes of its last ${process.env.HOLDFAST_FIRESTORE_EXPORT_SECONDS ?? 10} s are lost, and fences issued in them may be issued again`,
    );
  }
  where = `Firestore emulator on ${local.host} (${local.attached ? `re-attached: still running since ${local.startedAt}` : "started here"}; documents kept in ${dataDir})`;
  // An emulator that went away on its own (a crash) took the latest changes with it: this
  // server has no store to serve from. A restart imports the last periodic export.
  setInterval(() => {
    if (stopping || local.running()) return;
    console.error(
      `holdfast: the Firestore emulator stopped on its own (see ${dataDir}/emulator.log); restart npm run start:firebase`,
    );
    process.exit(1);
  }, 2000).unref();
}

try {
  const served = await serveFunction(port, hostname);
  server = served.server;
  const { url } = served;
  const health = (await (await fetch(new URL("/health", url))).json()) as { backend?: string };
  console.log(
    [
      `Holdfast listening on ${url}`,
      `backend: ${health.backend} (the exported function under the Functions Framework), ${where}`,
      process.env.HOLDFAST_TOKENS ? "tokens: from HOLDFAST_TOKENS" : `token: ${token}`,
    ].join("\n"),
  );
} catch (error) {
  console.error(`start:firebase: ${error instanceof Error ? error.message : String(error)}`);
  await emulator?.stop();
  process.exit(1);
}
