/**
 * Versioned, idempotent migrations. Each version runs in one transaction that first takes
 * an advisory lock (two deploys migrating at once take turns) and records the version;
 * every statement is written to be harmless when repeated (IF NOT EXISTS, OR REPLACE).
 * Run them with `npm run db:migrate`, or call setupSchema() from your own deploy step.
 */
import { neon } from "@neondatabase/serverless";
import { pointAtLocalProxy } from "../context.ts";
import { toLockError } from "../errors.ts";
import { namesFor } from "./names.ts";
import { V1_RULES } from "./v1-rules.sql.ts";
import { V2_IDEMPOTENT_TTL } from "./v2-idempotent-ttl.sql.ts";

export interface Migration {
  version: number;
  name: string;
  /** The migration's SQL, statements separated by lines of `---`, names as `{p}…`. */
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  { version: 1, name: "locks table and lock rules", sql: V1_RULES },
  { version: 2, name: "the TTL is part of an idempotent request", sql: V2_IDEMPOTENT_TTL },
];

export interface SetupOptions {
  connectionString: string;
  prefix?: string;
  /** The connection string names the local stand-in of Neon's proxy (context.ts). */
  localProxy?: boolean;
}

export function statementsOf(migration: Migration, prefix: string): string[] {
  return migration.sql
    .split(/^---$/m)
    .map((statement) => statement.replaceAll("{p}", prefix).trim())
    .filter((statement) => statement.length > 0);
}

/** Applies the migrations this database lacks; returns the versions it applied. */
export async function setupSchema(options: SetupOptions): Promise<number[]> {
  const names = namesFor(options.prefix);
  if (options.localProxy) pointAtLocalProxy();
  const sql = neon(options.connectionString);
  const lock = sql.query("SELECT pg_advisory_xact_lock(hashtext($1))", [names.migrations]);
  try {
    const [, , rows] = await sql.transaction([
      lock,
      sql.query(`CREATE TABLE IF NOT EXISTS ${names.migrations} (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`),
      sql.query(`SELECT version FROM ${names.migrations}`),
    ]);
    const done = new Set((rows as { version: number }[]).map((row) => Number(row.version)));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await sql.transaction([
        sql.query("SELECT pg_advisory_xact_lock(hashtext($1))", [names.migrations]),
        ...statementsOf(migration, names.prefix).map((statement) => sql.query(statement)),
        sql.query(`INSERT INTO ${names.migrations} (version, name) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING`, [
          migration.version,
          migration.name,
        ]),
      ]);
      applied.push(migration.version);
    }
    return applied;
  } catch (error) {
    throw toLockError(error);
  }
}
