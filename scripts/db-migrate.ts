/**
 * `npm run db:migrate`: applies Holdfast's migrations (edge/src/neon/schema/) to the
 * database in DATABASE_URL (with HOLDFAST_PG_PREFIX, default `holdfast_`). Run it before
 * the first deploy and after every upgrade; it is idempotent. Without DATABASE_URL it
 * migrates the local Postgres (POSTGRES_URL) through the local stand-in of Neon's proxy.
 */
import { setupSchema } from "../edge/src/neon/schema/migrate.ts";
import { startNeonStandin } from "../local/standins/neon-proxy.ts";

const prefix = process.env.HOLDFAST_PG_PREFIX;
const withPrefix = prefix ? { prefix } : {};

async function main(): Promise<void> {
  if (process.env.DATABASE_URL) {
    const applied = await setupSchema({ connectionString: process.env.DATABASE_URL, ...withPrefix });
    console.log(report(applied, new URL(process.env.DATABASE_URL).host));
    return;
  }
  const postgresUrl = process.env.POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const standin = await startNeonStandin({ postgresUrl });
  try {
    const target = new URL(postgresUrl);
    const connectionString = `postgres://${target.username || "postgres"}@127.0.0.1:${new URL(standin.httpUrl).port}${target.pathname}`;
    const applied = await setupSchema({ connectionString, localProxy: true, ...withPrefix });
    console.log(report(applied, `${target.host}${target.pathname} (local, through the Neon proxy stand-in)`));
  } finally {
    await standin.close();
  }
}

function report(applied: number[], where: string): string {
  return applied.length === 0
    ? `holdfast: ${where}: schema up to date`
    : `holdfast: ${where}: applied migrations ${applied.join(", ")}`;
}

main().catch((error: unknown) => {
  console.error(`holdfast: migration failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
