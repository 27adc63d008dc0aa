/**
 * A throwaway Postgres cluster on a free port (initdb into a temp dir, trust auth), so
 * that a test can stop, kill and restart the store. Postgres refuses to run as root: as
 * root (CI, this machine) the cluster runs as the `postgres` user.
 */
import { execFile } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../../../test/support/store-faults.ts";

const run = promisify(execFile);

/** Runs a Postgres tool as the `postgres` user when this process is root. */
function asPostgres(command: string, args: string[]) {
  const root = process.getuid?.() === 0;
  return root ? run("runuser", ["-u", "postgres", "--", command, ...args]) : run(command, args);
}

/** `settings`: more server settings, such as `max_connections=20`. */
export async function startThrowawayPostgres(settings: string[] = []) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "holdfast-pg-"));
  if (process.getuid?.() === 0) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, "data");
  await asPostgres("initdb", ["-A", "trust", "-U", "postgres", "-D", data]).catch((error: Error) => {
    throw new Error(`initdb failed (are the PostgreSQL server binaries installed?): ${error.message}`);
  });
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=on${settings.map((setting) => ` -c ${setting}`).join("")}`;
  const start = () => asPostgres("pg_ctl", ["-D", data, "-o", options, "-w", "-l", join(dir, "log"), "start"]);
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    /** Stops at once, as a crash would (immediate mode: no shutdown checkpoint). */
    stop: () => asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]),
    async remove() {
      await asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
