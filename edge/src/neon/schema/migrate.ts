/**
 * Versioned migrations for tables, and the lock functions (functions.sql.ts) re-applied
 * whenever their SHA-256 differs from the one the database last applied. Each step runs in
 * one transaction that first takes an advisory lock (two deploys migrating at once take
 * turns) and then checks, under that lock, that its step is still to do: a step another
 * deploy finished meanwhile is skipped, never run again (a migration run twice could put
 * back functions a later one replaced). Run them with `npm run db:migrate`, or call
 * setupSchema() from your own deploy step.
 */
import { type NeonQueryFunction, neon } from "@neondatabase/serverless";
import { pointAtLocalProxy } from "../context.ts";
import { toLockError } from "../errors.ts";
import { FUNCTIONS } from "./functions.sql.ts";
import { namesFor } from "./names.ts";
import { V1_RULES } from "./v1-rules.sql.ts";
import { V2_IDEMPOTENT_TTL } from "./v2-idempotent-ttl.sql.ts";
import { V3_QUEUE_TABLES } from "./v3-queue-tables.sql.ts";

export interface Migration {
  version: number;
  name: string;
  /** The migration's SQL, statements separated by lines of `---`, names as `{p}…`. */
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  { version: 1, name: "locks table and lock rules", sql: V1_RULES },
  { version: 2, name: "the TTL is part of an idempotent request", sql: V2_IDEMPOTENT_TTL },
  { version: 3, name: "the queue in indexed tables", sql: V3_QUEUE_TABLES },
];

export interface SetupOptions {
  connectionString: string;
  prefix?: string;
  /** The connection string names the local stand-in of Neon's proxy (context.ts). */
  localProxy?: boolean;
}

export function statementsOf(sql: string, prefix: string): string[] {
  return sql
    .split(/^---$/m)
    .map((statement) => statement.replaceAll("{p}", prefix).trim())
    .filter((statement) => statement.length > 0);
}

/** Raised inside a step's transaction when another deploy did the step meanwhile. */
const ALREADY_DONE = "HF003";

/** Applies the migrations this database lacks, then the functions if they changed; returns the versions it applied. */
export async function setupSchema(options: SetupOptions): Promise<number[]> {
  const names = namesFor(options.prefix);
  if (options.localProxy) pointAtLocalProxy();
  const sql: NeonQueryFunction<false, false> = neon(options.connectionString);
  const lock = () => sql.query("SELECT pg_advisory_xact_lock(hashtext($1))", [names.migrations]);
  const functionsTable = `${names.prefix}functions`;
  /** Aborts the step's transaction (ALREADY_DONE) when `done` (a SQL condition) already holds. */
  const unlessDone = (done: string) =>
    sql.query(`DO $guard$ BEGIN IF ${done} THEN
      RAISE EXCEPTION 'holdfast: done by another deploy' USING ERRCODE = '${ALREADY_DONE}'; END IF; END $guard$`);
  /** Runs one step; false when another deploy had done it. */
  const step = async (done: string, statements: string[], record: string, params: unknown[]) => {
    try {
      await sql.transaction([
        lock(),
        unlessDone(done),
        ...statements.map((text) => sql.query(text)),
        sql.query(record, params),
      ]);
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === ALREADY_DONE) return false;
      throw error;
    }
  };
  try {
    const [, , , rows, stored] = await sql.transaction([
      lock(),
      sql.query(`CREATE TABLE IF NOT EXISTS ${names.migrations} (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`),
      sql.query(`CREATE TABLE IF NOT EXISTS ${functionsTable} (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        sha256 text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`),
      sql.query(`SELECT version FROM ${names.migrations}`),
      sql.query(`SELECT sha256 FROM ${functionsTable}`),
    ]);
    const done = new Set((rows as { version: number }[]).map((row) => Number(row.version)));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      const ran = await step(
        `EXISTS (SELECT 1 FROM ${names.migrations} WHERE version = ${migration.version})`,
        statementsOf(migration.sql, names.prefix),
        `INSERT INTO ${names.migrations} (version, name) VALUES ($1, $2)`,
        [migration.version, migration.name],
      );
      if (ran) applied.push(migration.version);
    }
    const functions = statementsOf(FUNCTIONS, names.prefix);
    const sha256 = await digestOf(functions.join("\n---\n"));
    if ((stored as { sha256: string }[])[0]?.sha256 !== sha256) {
      await step(
        `EXISTS (SELECT 1 FROM ${functionsTable} WHERE sha256 = '${sha256}')`,
        functions,
        `INSERT INTO ${functionsTable} (one, sha256) VALUES (true, $1)
         ON CONFLICT (one) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = now()`,
        [sha256],
      );
    }
    return applied;
  } catch (error) {
    throw toLockError(error);
  }
}

async function digestOf(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
