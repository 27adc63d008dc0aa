/**
 * Throwaway stores as ManagedProcesses, so that killFault and pauseFault apply to them:
 * redis-server with an append-only file synced on every write, a Postgres cluster in a
 * temp dir (run as `postgres` when we are root: it refuses root), and the Firestore
 * emulator. Each on a free port, started; `remove()` stops it and deletes its files.
 */
import { execFile } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, launcherPath, OFFLINE_ENV } from "../../local/firestore-emulator.ts";
import { ManagedProcess } from "./process.ts";
import { httpReady, postgresReady, redisReady } from "./ready.ts";

const run = promisify(execFile);

export interface ThrowawayStore {
  process: ManagedProcess;
  port: number;
  /** How a client reaches it: redis://…, postgres://…, or host:port for FIRESTORE_EMULATOR_HOST. */
  url: string;
  remove(): Promise<void>;
}

export async function throwawayRedis(): Promise<ThrowawayStore> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "holdfast-proof-redis-"));
  // appendfsync always: a write is on disk before Redis acknowledges it, so a SIGKILL
  // loses nothing that was acknowledged.
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""];
  args.push("--appendonly", "yes", "--appendfsync", "always");
  const managed = new ManagedProcess({ name: "redis", command: "redis-server", args, ready: () => redisReady(port) });
  return started({ process: managed, port, url: `redis://127.0.0.1:${port}`, dir });
}

/** `settings`: more server settings, such as `max_connections=20`. */
export async function throwawayPostgres(settings: string[] = []): Promise<ThrowawayStore> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "holdfast-proof-pg-"));
  const root = process.getuid?.() === 0;
  if (root) {
    const [uid, gid] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
    chownSync(dir, Number(uid.stdout.trim()), Number(gid.stdout.trim()));
  }
  const asPostgres = (command: string, args: string[]) =>
    root ? { command: "runuser", args: ["-u", "postgres", "--", command, ...args] } : { command, args };
  const data = join(dir, "data");
  const initdb = asPostgres("initdb", ["-A", "trust", "-U", "postgres", "-D", data]);
  await run(initdb.command, initdb.args);
  // The postmaster itself (not pg_ctl, which detaches it): it and its backends stay in
  // our process group, so SIGKILL takes them all, as a machine crash would.
  const options = ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=on"];
  const server = asPostgres("postgres", [...options, ...settings.flatMap((setting) => ["-c", setting])]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const managed = new ManagedProcess({ name: "postgres", ...server, ready: () => postgresReady(port) });
  return started({ process: managed, port, url, dir });
}

/** In memory only: a kill loses its documents (local/firestore-supervisor.ts is what exports them). */
export async function throwawayFirestore(): Promise<ThrowawayStore> {
  const port = await freePort();
  const managed = new ManagedProcess({
    name: "firestore",
    command: launcherPath(),
    args: ["start", "--host=127.0.0.1", `--port=${port}`],
    env: OFFLINE_ENV,
    ready: () => httpReady(`http://127.0.0.1:${port}/`),
    readyTimeoutMs: 60_000,
  });
  return started({ process: managed, port, url: `127.0.0.1:${port}` });
}

async function started(store: Omit<ThrowawayStore, "remove"> & { dir?: string }): Promise<ThrowawayStore> {
  const { dir, ...rest } = store;
  const remove = async () => {
    await store.process.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await store.process.start();
  } catch (error) {
    await remove();
    throw error;
  }
  return { ...rest, remove };
}
