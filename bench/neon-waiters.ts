/**
 * How many Postgres connections Neon waiters cost, measured (not part of `npm run bench`):
 *
 *   npx tsx bench/neon-waiters.ts [waiters=10000] [keys=50]
 *
 * A throwaway Postgres with max_connections = 20, the Neon stand-in in front of it with
 * an HTTP pool of 6, one Node backend. Each key is held, `waiters` requests queue on the
 * keys (one after the other per key, so that arrival order is known), a bystander
 * connects and queries, then the holders release and every waiter releases as soon as it
 * is served. It prints the peak of client connections in pg_stat_activity (sampled every
 * 20 ms) and whether every waiter was served in its key's queue order, fences 2, 3, ….
 * One key's queue is an indexed table (migration 3): each step on it costs O(log n).
 */
import { keyHandle } from "@holdfast/shared/contract";
import pg from "pg";
import ws from "ws";
import { createNeonBackend } from "../edge/src/neon/backend.ts";
import { setupSchema } from "../edge/src/neon/schema/migrate.ts";
import { startNeonStandin } from "../local/standins/neon-proxy.ts";
import { connectionStringOf } from "../test/neon/fixture.ts";
import { queueWaiters } from "../test/neon/queue-waiters.ts";
import { startThrowawayPostgres } from "../test/neon/throwaway-postgres.ts";

const waiters = Number(process.argv[2] ?? 10_000);
const keyCount = Number(process.argv[3] ?? 50);
const perKey = Math.ceil(waiters / keyCount);

const cluster = await startThrowawayPostgres(["max_connections=20"]);
const standin = await startNeonStandin({ postgresUrl: cluster.url, poolMax: 6 });
const admin = new pg.Client({ connectionString: cluster.url, application_name: "bench-admin" });
await admin.connect();
const peak = { total: 0, listening: 0 };
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    const { rows } = await admin.query(
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE application_name NOT LIKE 'neon-standin:%')::int AS listening
         FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> 'bystander'`,
    );
    peak.total = Math.max(peak.total, rows[0].total);
    peak.listening = Math.max(peak.listening, rows[0].listening);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
})();
try {
  const connectionString = connectionStringOf(standin.httpUrl, cluster.url);
  await setupSchema({ connectionString, prefix: "hfb_", localProxy: true });
  const backend = createNeonBackend({ connectionString, prefix: "hfb_", localProxy: true, webSocketConstructor: ws });
  const keys = await Promise.all(Array.from({ length: keyCount }, (_, i) => keyHandle("t", `bench:${i}`)));
  const holders = await Promise.all(keys.map((k) => backend.acquire(k.request({ ttlMs: 3_600_000 }))));
  let started = Date.now();
  const queues = await Promise.all(keys.map((k) => queueWaiters(backend, k, perKey, 3_600_000)));
  console.log(`${perKey * keyCount} waiters queued on ${keyCount} keys in ${Date.now() - started} ms`);
  const bystander = new pg.Client({ connectionString: cluster.url, application_name: "bystander" });
  await bystander.connect();
  console.log("a bystander connects and queries:", (await bystander.query("SELECT 1 AS one")).rows);
  await bystander.end();
  started = Date.now();
  await Promise.all(
    keys.map((k, i) => {
      const holder = holders[i];
      if (!holder?.ok) throw new Error("a holder was not granted");
      return backend.release(k.ref(holder.token));
    }),
  );
  const results = (await Promise.all(queues.map((queue) => queue.all()))).flat();
  const inOrder = queues.every((queue) => queue.served.every((s, i) => s.index === i && s.fence === i + 2));
  console.log(
    `served ${results.filter((result) => result.ok).length} in ${Date.now() - started} ms, in queue order: ${inOrder}`,
  );
} finally {
  sampling = false;
  await sampler;
  console.log(`peak client connections: ${peak.total} (listening: ${peak.listening}; max_connections 20)`);
  await admin.end();
  await standin.close();
  await cluster.remove();
}
