/**
 * Runs the Upstash REST stand-in as a process of its own, as the hosted service would
 * be: for benchmarks (its event loop does not share the client's) and for the workerd
 * test project (whose module resolution is set up for workerd, not for Node's Redis client).
 */
import { randomUUID } from "node:crypto";
import { spawnStandin } from "./spawn.ts";
import { STATS_PATH } from "./upstash-rest.ts";

export interface SpawnedStandin {
  url: string;
  token: string;
  stats(): Promise<{ commands: number; byCommand: Record<string, number> }>;
  resetStats(): Promise<void>;
  stop(): Promise<void>;
}

export async function spawnUpstashStandin(redisUrl = process.env.REDIS_URL): Promise<SpawnedStandin> {
  const token = randomUUID();
  const { url, stop } = await spawnStandin("local/standins/upstash-rest.ts", "Upstash REST stand-in", {
    UPSTASH_STANDIN_TOKEN: token,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  });
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
    stop,
  };
}
