/**
 * Runs the Upstash REST stand-in as a process of its own, as the hosted service would
 * be: for benchmarks (its event loop does not share the client's) and for the workerd
 * test project (whose module resolution is set up for workerd, not for Node's Redis client).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { STATS_PATH } from "./upstash-rest.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface SpawnedStandin {
  url: string;
  token: string;
  stats(): Promise<{ commands: number; byCommand: Record<string, number> }>;
  resetStats(): Promise<void>;
  stop(): Promise<void>;
}

export async function spawnUpstashStandin(redisUrl = process.env.REDIS_URL): Promise<SpawnedStandin> {
  const token = randomUUID();
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/standins/upstash-rest.ts"], {
    cwd: root,
    env: { ...process.env, PORT: "0", UPSTASH_STANDIN_TOKEN: token, ...(redisUrl ? { REDIS_URL: redisUrl } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = await announcedUrl(child);
  const stats = async (method: "GET" | "POST") => {
    const response = await fetch(`${url}${STATS_PATH}`, { method, headers: { authorization: `Bearer ${token}` } });
    return (await response.json()) as { commands: number; byCommand: Record<string, number> };
  };
  return {
    url,
    token,
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

function announcedUrl(child: ChildProcess): Promise<string> {
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Upstash REST stand-in did not start:\n${output}`)), 30_000);
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
      reject(new Error(`Upstash REST stand-in exited with ${code}:\n${output}`));
    });
  });
}
