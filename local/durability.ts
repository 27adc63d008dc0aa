/**
 * What the store behind `npm start` keeps through a crash, read from its own settings, so
 * that the banner says when fences could go back (README, "Durability"). Only stores this
 * machine runs are asked: Upstash has no CONFIG, and a Neon compute reports `fsync` as its
 * own business (its safekeepers make the commit durable).
 */
import { Redis } from "ioredis";
import pg from "pg";

const FIX = "see README, Durability";

/** Redis: an append-only file, flushed before every answer, or a crash loses grants. */
export async function redisDurability(redisUrl: string): Promise<string[]> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on("error", () => undefined); // answered by connect() below
  try {
    await redis.connect();
    const [, appendonly] = (await redis.config("GET", "appendonly")) as string[];
    const [, appendfsync] = (await redis.config("GET", "appendfsync")) as string[];
    if (appendonly !== "yes") {
      return [
        `Redis keeps no append-only file (appendonly ${appendonly}): a restart of Redis forgets every lock and fences start again at 1; use appendonly yes with appendfsync always (${FIX})`,
      ];
    }
    if (appendfsync !== "always") {
      return [
        `Redis flushes its append-only file ${appendfsync === "everysec" ? "once a second" : "when the OS does"} (appendfsync ${appendfsync}): a crash of its machine can lose the last grants and re-issue their fences; use appendfsync always (${FIX})`,
      ];
    }
    return [];
  } catch (error) {
    return [`could not read Redis's persistence settings (${error instanceof Error ? error.message : error})`];
  } finally {
    redis.disconnect();
  }
}

/**
 * Postgres: the lock functions make each writing commit synchronous themselves (they raise
 * `synchronous_commit`), but nothing they do helps a server that never flushes.
 */
export async function postgresDurability(postgresUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: postgresUrl });
  try {
    await client.connect();
    const { rows } = await client.query("SELECT current_setting('fsync') AS fsync");
    if (rows[0].fsync !== "on") {
      return [
        `Postgres runs with fsync off: a crash of its machine can lose committed grants and re-issue their fences (${FIX})`,
      ];
    }
    return [];
  } catch (error) {
    return [`could not read Postgres's fsync setting (${error instanceof Error ? error.message : error})`];
  } finally {
    await client.end().catch(() => undefined);
  }
}
