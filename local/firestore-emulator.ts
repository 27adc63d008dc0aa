/**
 * The real Google Cloud Firestore emulator (Debian package google-cloud-cli-firestore-emulator),
 * started on a free 127.0.0.1 port for tests, benchmarks and `npm run start:firebase`. Its
 * launcher is a shell script whose Java child outlives it, so it runs in a process group
 * of its own and is stopped as a group. With `dataDir`, its documents are imported at
 * start and exported (through the emulator's export API, firestore-export.ts) when it is
 * stopped, so fences survive a clean restart; a crash loses what changed since the last
 * export. `npm run start:firebase` runs it under firestore-supervisor.ts instead.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { exportTo, importArgs } from "./firestore-export.ts";

/** Keeps the Google clients and gcloud on this machine (../shared/TOOLCHAIN.md). */
export const OFFLINE_ENV = {
  METADATA_SERVER_DETECTION: "none",
  CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: "true",
  CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: "true",
} as const;

export const DEMO_PROJECT = "demo-holdfast";

export interface FirestoreEmulator {
  /** host:port, the value of FIRESTORE_EMULATOR_HOST. */
  host: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  port?: number;
  /** Import from and export to this directory (created if need be). */
  dataDir?: string;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

export function launcherPath(): string {
  let sdkRoot: string;
  try {
    sdkRoot = execFileSync("gcloud", ["info", "--format=value(installation.sdk_root)"], {
      env: { ...process.env, ...OFFLINE_ENV },
      encoding: "utf8",
    }).trim();
  } catch {
    throw new Error(
      "the Firestore emulator needs the Google Cloud CLI: apt-get install google-cloud-cli google-cloud-cli-firestore-emulator openjdk-17-jre-headless",
    );
  }
  const launcher = join(sdkRoot, "platform/cloud-firestore-emulator/cloud_firestore_emulator");
  if (!existsSync(launcher)) {
    throw new Error(`no Firestore emulator at ${launcher}: apt-get install google-cloud-cli-firestore-emulator`);
  }
  return launcher;
}

export async function startFirestoreEmulator(options: EmulatorOptions = {}): Promise<FirestoreEmulator> {
  const port = options.port ?? (await freePort());
  const args = ["start", "--host=127.0.0.1", `--port=${port}`];
  const { dataDir } = options;
  if (dataDir) args.push(...importArgs(dataDir));
  const child = spawn(launcherPath(), args, {
    detached: true,
    env: { ...process.env, ...OFFLINE_ENV },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = captureOutput(child);
  const host = `127.0.0.1:${port}`;
  await waitUntilReady(host, child, output);
  return {
    host,
    port,
    async stop() {
      if (dataDir && child.exitCode === null) {
        await exportTo(host, dataDir).catch((error: unknown) => {
          // The next start would import an older export, and fences issued since would repeat: say so.
          console.error(
            `holdfast: the Firestore emulator's documents were NOT exported to ${dataDir} (${error instanceof Error ? error.message : String(error)}); the next start will see an older state`,
          );
        });
      }
      await stopGroup(child);
    },
  };
}

/** Everything the child writes, for the error that says why it did not start. */
export function captureOutput(child: ChildProcess): () => string {
  let output = "";
  const add = (chunk: unknown) => {
    output += chunk;
  };
  child.stdout?.on("data", add);
  child.stderr?.on("data", add);
  return () => output;
}

async function waitUntilReady(host: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the Firestore emulator exited with ${child.exitCode}:\n${output()}`);
    try {
      const response = await fetch(`http://${host}/`);
      if ((await response.text()).trim() === "Ok") return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stopGroup(child);
  throw new Error(`the Firestore emulator did not start within 60 s:\n${output()}`);
}

/** SIGTERM to the whole group (the Java child exports its data, if asked, and exits), then SIGKILL. */
export async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  signalGroup("SIGTERM");
  const killer = setTimeout(() => signalGroup("SIGKILL"), 10_000);
  await exited;
  // The launcher script may exit before its Java child: wait for the group to be empty.
  for (let i = 0; i < 100 && groupAlive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  clearTimeout(killer);
  if (groupAlive(pid)) signalGroup("SIGKILL");
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
