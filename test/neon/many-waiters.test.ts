/**
 * Many waiters on one key against a Postgres with few connections (a throwaway cluster
 * with max_connections = 20): every waiter is served, in the order the SQL queued it,
 * with fences that never repeat, while the backend holds one listening connection
 * whatever the number of waiters, and another client can still connect and query. Then
 * the listening connection is terminated mid-queue (every waiter asks again and is still
 * served in order), and Postgres refuses every new connection (clear errors, no crash,
 * in the backend or in the stand-in that `npm start` runs in its own process).
 */
import type { Backend } from "@holdfast/shared";
import { neon } from "@neondatabase/serverless";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import ws from "ws";
import { createNeonBackend } from "../../edge/src/neon/backend.ts";
import { setupSchema } from "../../edge/src/neon/schema/migrate.ts";
import { type NeonStandin, startNeonStandin } from "../../local/standins/neon-proxy.ts";
import { codeOf, lockHandle } from "../support/store-faults.ts";
import { connectionStringOf } from "./fixture.ts";
import { indices, queueWaiters } from "./queue-waiters.ts";
import { startThrowawayPostgres } from "./throwaway-postgres.ts";

/** Waiters queued on one key at once (CI-sized; the design does not depend on it). */
const WAITERS = 300;
const MAX_CONNECTIONS = 20;
/** The stand-in's SQL-over-HTTP pool, as Neon's proxy pools its HTTP connections. */
const HTTP_POOL = 6;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The cluster's client connections now, by who holds them. */
async function connections(admin: pg.Client) {
  const { rows } = await admin.query<{ http: number; listening: number; total: number }>(
    `SELECT count(*) FILTER (WHERE application_name LIKE 'neon-standin:%')::int AS http,
            count(*) FILTER (WHERE application_name NOT LIKE 'neon-standin:%')::int AS listening,
            count(*)::int AS total
       FROM pg_stat_activity
      WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> 'bystander'`,
  );
  return rows[0] ?? { http: 0, listening: 0, total: 0 };
}

/** Records the highest counts until stopped. */
function watchConnections(admin: pg.Client) {
  const peak = { http: 0, listening: 0, total: 0 };
  let running = true;
  const done = (async () => {
    while (running) {
      const now = await connections(admin);
      peak.http = Math.max(peak.http, now.http);
      peak.listening = Math.max(peak.listening, now.listening);
      peak.total = Math.max(peak.total, now.total);
      await sleep(10);
    }
  })();
  return {
    peak,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe(`${WAITERS} waiters on one key, max_connections = ${MAX_CONNECTIONS}`, () => {
  let cluster: Awaited<ReturnType<typeof startThrowawayPostgres>>;
  let standin: NeonStandin;
  let backend: Backend;
  let admin: pg.Client;

  beforeAll(async () => {
    cluster = await startThrowawayPostgres([`max_connections=${MAX_CONNECTIONS}`]);
    standin = await startNeonStandin({ postgresUrl: cluster.url, poolMax: HTTP_POOL });
    const connectionString = connectionStringOf(standin.httpUrl, cluster.url);
    const prefix = "hft_many_";
    await setupSchema({ connectionString, prefix, localProxy: true });
    backend = createNeonBackend({ connectionString, prefix, localProxy: true, webSocketConstructor: ws });
    admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
  }, 60_000);
  afterAll(async () => {
    // The cluster goes first and whatever happens: a failed run must not leave it running.
    try {
      await admin?.end().catch(() => undefined);
      await cluster?.remove();
    } finally {
      await standin?.close();
    }
  }, 30_000);

  it("serves every waiter in queue order on one listening connection, and others still connect", async () => {
    const k = await lockHandle("many");
    const holder = await backend.acquire(k.request());
    if (!holder.ok) throw new Error("not granted");
    const watch = watchConnections(admin);
    try {
      const queue = await queueWaiters(backend, k, WAITERS);
      expect((await backend.lookup(k.lookupRef)).holders.map((h) => h.token)).toEqual([holder.token]);

      // Every waiter is queued and listening: a newcomer to the database still gets in.
      const bystander = new pg.Client({ connectionString: cluster.url, application_name: "bystander" });
      await bystander.connect();
      expect((await bystander.query("SELECT 42 AS answer")).rows).toEqual([{ answer: 42 }]);
      await bystander.end();

      await backend.release(k.ref(holder.token));
      const results = await queue.all();
      expect(results.every((result) => result?.ok)).toBe(true);
      expect(queue.served.map((s) => s.index)).toEqual(indices(WAITERS));
      expect(queue.served.map((s) => s.fence)).toEqual(indices(WAITERS).map((i) => i + 2));
    } finally {
      await watch.stop();
    }
    expect(watch.peak.listening).toBe(1);
    expect(watch.peak.http).toBeLessThanOrEqual(HTTP_POOL);
    expect(watch.peak.total).toBeLessThanOrEqual(HTTP_POOL + 1);
    // Nobody waits any more: the listening connection closes.
    await expect.poll(async () => (await connections(admin)).listening, { timeout: 5_000 }).toBe(0);
  }, 120_000);

  it("serves every waiter, in order, after its listening connection was terminated", async () => {
    const k = await lockHandle("terminated");
    const holder = await backend.acquire(k.request());
    if (!holder.ok) throw new Error("not granted");
    const count = Math.min(WAITERS, 50);
    const queue = await queueWaiters(backend, k, count);
    await expect.poll(async () => (await connections(admin)).listening).toBe(1);
    const { rows } = await admin.query(
      `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND application_name NOT LIKE 'neon-standin:%' AND pid <> pg_backend_pid()`,
    );
    expect(rows).toEqual([{ done: true }]);
    // Released while nobody listens: the waiters find out by asking again.
    await backend.release(k.ref(holder.token));
    await queue.all();
    expect(queue.served.map((s) => s.index)).toEqual(indices(count));
    expect(queue.served.map((s) => s.fence)).toEqual(indices(count).map((i) => i + holder.fence + 1));
  }, 60_000);

  it("answers ServiceUnavailable, and keeps running, while Postgres refuses every connection (53300)", async () => {
    const k = await lockHandle("refused");
    const holder = await backend.acquire(k.request());
    if (!holder.ok) throw new Error("not granted");
    // A stand-in of its own, whose pool has no connection yet, and a Postgres with none left.
    const fresh = await startNeonStandin({ postgresUrl: cluster.url, poolMax: HTTP_POOL });
    const hogs: pg.Client[] = [];
    try {
      const starved = createNeonBackend({
        connectionString: connectionStringOf(fresh.httpUrl, cluster.url),
        prefix: "hft_many_",
        localProxy: true,
        webSocketConstructor: ws,
      });
      for (;;) {
        const hog = new pg.Client({ connectionString: cluster.url });
        hog.on("error", () => undefined);
        try {
          await hog.connect();
        } catch (error) {
          expect(String(error)).toMatch(/too many clients/);
          break;
        }
        hogs.push(hog);
      }
      const waiting = starved.acquireQueued?.(k.request(), { waitMs: 2_000, signal: new AbortController().signal });
      expect(await codeOf(waiting)).toBe("ServiceUnavailable");
      expect(await codeOf(starved.acquire(k.request()))).toBe("ServiceUnavailable");
    } finally {
      await Promise.all(hogs.map((hog) => hog.end()));
      await fresh.close();
    }
    expect(await backend.release(k.ref(holder.token))).toMatchObject({ ok: true });
  }, 60_000);

  it("keeps the stand-in running when the cancel of an abandoned statement is refused (53300)", async () => {
    const unhandled: unknown[] = [];
    const note = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", note);
    const fresh = await startNeonStandin({ postgresUrl: cluster.url, poolMax: 1 });
    const hogs: pg.Client[] = [];
    try {
      const sql = neon(connectionStringOf(fresh.httpUrl, cluster.url));
      const abandon = new AbortController();
      const slow = sql.query("SELECT pg_sleep(1.5) AS slow", [], { fetchOptions: { signal: abandon.signal } });
      const failed = slow.then(
        () => "answered",
        () => "failed",
      );
      await expect
        .poll(async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%AS slow'")).rowCount)
        .toBe(1);
      for (;;) {
        const hog = new pg.Client({ connectionString: cluster.url });
        hog.on("error", () => undefined);
        try {
          await hog.connect();
        } catch {
          break;
        }
        hogs.push(hog);
      }
      // The client goes away: the stand-in cancels the statement over a connection of its own, which Postgres refuses.
      abandon.abort();
      expect(await failed).toBe("failed");
      await sleep(2_000);
      await Promise.all(hogs.splice(0).map((hog) => hog.end()));
      expect(await sql`SELECT 'still here' AS s`).toEqual([{ s: "still here" }]);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", note);
      await Promise.all(hogs.map((hog) => hog.end()));
      await fresh.close();
    }
  }, 30_000);
});
