/**
 * Runs the Neon proxy stand-in as a process of its own, as the hosted proxy would be: for
 * benchmarks (its event loop does not share the client's) and for the workerd test project
 * (whose module resolution is set up for workerd, not for node-postgres and ws).
 */
import { connectionStringFor, DEFAULT_POSTGRES_URL, type NeonStandinStats, STATS_PATH } from "./neon-proxy.ts";
import { spawnStandin } from "./spawn.ts";

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
  const { url: origin, stop } = await spawnStandin("local/standins/neon-proxy.ts", "Neon proxy stand-in", {
    POSTGRES_URL: postgresUrl,
  });
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
    stop,
  };
}
