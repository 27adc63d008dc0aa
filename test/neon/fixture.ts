/**
 * Neon suites' fixture: the real @neondatabase/serverless driver, through the local
 * stand-in for Neon's proxy, in front of the real Postgres (POSTGRES_URL, default
 * postgres://postgres@127.0.0.1:5432/test). Each fixture gets its own table prefix and
 * applies the migrations itself, so runs never see each other's locks.
 */
import { newToken } from "@holdfast/shared";
import ws from "ws";
import { createNeonBackend, type NeonBackendOptions } from "../../edge/src/neon/backend.ts";
import { setupSchema } from "../../edge/src/neon/schema/migrate.ts";
import { startNeonStandin } from "../../local/standins/neon-proxy.ts";

export const POSTGRES_URL = process.env.POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** The driver reaches the stand-in at the connection string's own host and port (localProxy). */
export function connectionStringOf(httpUrl: string, postgresUrl = POSTGRES_URL): string {
  const { port } = new URL(httpUrl);
  const target = new URL(postgresUrl);
  return `postgres://${target.username || "postgres"}@127.0.0.1:${port}${target.pathname}`;
}

export async function neonFixture(options: Partial<NeonBackendOptions> & { postgresUrl?: string } = {}) {
  const standin = await startNeonStandin({ postgresUrl: options.postgresUrl ?? POSTGRES_URL });
  const connectionString = connectionStringOf(standin.httpUrl, options.postgresUrl);
  const prefix =
    options.prefix ??
    `hft_${newToken()
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "")
      .slice(0, 12)}_`;
  const backend = createNeonBackend({
    connectionString,
    prefix,
    localProxy: true,
    webSocketConstructor: ws,
    ...options,
  });
  await setupSchema({ connectionString, prefix });
  return { backend, standin, prefix, connectionString, close: () => standin.close() };
}
