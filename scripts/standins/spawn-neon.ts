/**
 * Runs the Neon proxy stand-in as a process of its own, as the hosted proxy would be: for
 * benchmarks (its event loop does not share the client's) and for the workerd test project
 * (whose module resolution is set up for workerd, not for node-postgres and ws).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { connectionStringFor, DEFAULT_POSTGRES_URL, type NeonStandinStats, STATS_PATH } from "./neon-proxy.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface SpawnedNeonStandin {
  /** For neonConfig.fetchEndpoint. */
  httpUrl: string;
  /** For neonConfig.wsProxy (host:port; the bridge's path is /v2). */
  wsProxy: string;
  connectionString: string;
  stats(): Promise<NeonStandinStats>;
  resetStats(): Promise<void>;
  stop(): Promise<void>;
}

export async function spawnNeonStandin(
  postgresUrl = process.env.POSTGRES_URL ?? process.env.DATABASE_URL ?? DEFAULT_POSTGRES_URL,
): Promise<SpawnedNeonStandin> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/standins/neon-proxy.ts"], {
    cwd: root,
    env: { ...process.env, PORT: "0", POSTGRES_URL: postgresUrl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const origin = await announcedOrigin(child);
  const stats = async (method: "GET" | "POST") => {
    const response = await fetch(`${origin}${STATS_PATH}`, { method });
    return (await response.json()) as NeonStandinStats;
  };
  return {
    httpUrl: `${origin}/sql`,
    wsProxy: new URL(origin).host,
    connectionString: connectionStringFor(postgresUrl),
    stats: () => stats("GET"),
    resetStats: async () => {
      await stats("POST");
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}

function announcedOrigin(child: ChildProcess): Promise<string> {
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Neon proxy stand-in did not start:\n${output}`)), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk;
      const match = output.match(/stand-in on (http:\/\/\S+)/);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Neon proxy stand-in exited with ${code}:\n${output}`));
    });
  });
}
