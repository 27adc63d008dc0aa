/**
 * The Worker's Neon waiters parked on the waiting rooms (src/neon/wait-room.ts) instead
 * of a connection each: the shared waiting contract, unchanged, and many waiters on one
 * key served in queue order while the deployment holds at most WAIT_ROOM_SHARDS
 * listening connections (counted in pg_stat_activity through the stand-in), also when
 * Postgres terminates those connections mid-queue.
 */
import { env } from "cloudflare:workers";
import { keyHandle, runWaitingContract, uniqueKey } from "@holdfast/shared/contract";
import { neon } from "@neondatabase/serverless";
import { expect, inject, it } from "vitest";
import { createNeonBackend } from "../../src/neon/backend.ts";
import { setupSchema } from "../../src/neon/schema/migrate.ts";
import { WAIT_ROOM_SHARDS } from "../../src/neon/wait-room.ts";
import { waitRoomListen } from "../../src/neon/wait-room-listen.ts";
import { indices, queueWaiters } from "../node/neon/queue-waiters.ts";

const WAITERS = 200;

async function make() {
  const { connectionString } = inject("neon");
  const prefix = `hfwr_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}_`;
  await setupSchema({ connectionString, prefix, localProxy: true });
  const rooms = env.NEON_WAIT_ROOM;
  if (!rooms) throw new Error("wrangler.toml binds NEON_WAIT_ROOM");
  const waiting = waitRoomListen(rooms, { connectionString, localProxy: true });
  return { prefix, backend: createNeonBackend({ connectionString, prefix, localProxy: true, waiting }) };
}

runWaitingContract("neon in workerd, waiting rooms", async () => (await make()).backend);

/** Connections whose last statement LISTENed (or UNLISTENed) on one of `prefix`'s channels. */
const LISTENING = `FROM pg_stat_activity
  WHERE (query LIKE 'LISTEN%' OR query LIKE 'UNLISTEN%') AND query LIKE $1 AND pid <> pg_backend_pid()`;

it(`serves ${WAITERS} waiters on one key in queue order over at most ${WAIT_ROOM_SHARDS} listening connections`, async () => {
  const { prefix, backend } = await make();
  const sql = neon(inject("neon").connectionString);
  const listening = async () => {
    const rows = await sql.query(`SELECT count(*)::int AS n ${LISTENING}`, [`%${prefix}w_%`]);
    return (rows[0] as { n: number }).n;
  };
  const k = await keyHandle("t", uniqueKey("wait-room"));
  const holder = await backend.acquire(k.request({ ttlMs: 60_000 }));
  if (!holder.ok) throw new Error("not granted");
  const queue = await queueWaiters(backend, k, WAITERS);
  await expect.poll(listening).toBeGreaterThan(0);
  expect(await listening()).toBeLessThanOrEqual(WAIT_ROOM_SHARDS);
  await backend.release(k.ref(holder.token));
  const results = await queue.all();
  expect(results.every((result) => result.ok)).toBe(true);
  expect(queue.served.map((s) => s.index)).toEqual(indices(WAITERS));
  expect(queue.served.map((s) => s.fence)).toEqual(indices(WAITERS).map((i) => i + 2));
}, 120_000);

it("serves every waiter, in order, after Postgres terminated the rooms' connections", async () => {
  const { prefix, backend } = await make();
  const sql = neon(inject("neon").connectionString);
  const count = 40;
  const k = await keyHandle("t", uniqueKey("wait-room-terminated"));
  const holder = await backend.acquire(k.request({ ttlMs: 60_000 }));
  if (!holder.ok) throw new Error("not granted");
  const queue = await queueWaiters(backend, k, count);
  await expect
    .poll(async () => (await sql.query(`SELECT pid ${LISTENING}`, [`%${prefix}w_%`])).length)
    .toBeGreaterThan(0);
  const terminated = await sql.query(`SELECT pg_terminate_backend(pid) AS done ${LISTENING}`, [`%${prefix}w_%`]);
  expect(terminated.length).toBeGreaterThan(0);
  // Released while the rooms reconnect: the waiters find out by asking again.
  await backend.release(k.ref(holder.token));
  const results = await queue.all();
  expect(results.every((result) => result.ok)).toBe(true);
  expect(queue.served.map((s) => s.index)).toEqual(indices(count));
  expect(queue.served.map((s) => s.fence)).toEqual(indices(count).map((i) => i + 2));
}, 60_000);
