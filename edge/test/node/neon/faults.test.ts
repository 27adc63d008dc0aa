/**
 * The Neon backend against what a real database does: a schema never set up, migrations
 * run by several deploys at once, hostile keys, one statement per operation, LISTEN
 * connections and statements killed by pg_terminate_backend, and a Postgres stopped and
 * restarted mid-run (a throwaway cluster) — clear errors, no false grant or release, and
 * the same state and fences afterwards.
 */
import { isLockError, newToken } from "@holdfast/shared";
import { runContention } from "@holdfast/shared/contract";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import ws from "ws";
import { codeOf, lockHandle } from "../../../../test/support/store-faults.ts";
import { runAcquire } from "../../../src/neon/acquire.ts";
import { createNeonBackend } from "../../../src/neon/backend.ts";
import { createContext } from "../../../src/neon/context.ts";
import { setupSchema } from "../../../src/neon/schema/migrate.ts";
import { neonFixture, POSTGRES_URL } from "./fixture.ts";
import { startThrowawayPostgres } from "./throwaway-postgres.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const lock = (label: string, key?: string) => lockHandle(label, key === undefined ? {} : { key });

const freshPrefix = () =>
  `hft_${newToken()
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "")
    .slice(0, 10)}_`;

describe("schema, statements and keys", () => {
  let fixture: Awaited<ReturnType<typeof neonFixture>>;
  beforeAll(async () => {
    fixture = await neonFixture();
  });
  afterAll(() => fixture.close());

  it("says to run the migration when the schema was never set up", async () => {
    const bare = createNeonBackend({
      connectionString: fixture.connectionString,
      prefix: freshPrefix(),
      localProxy: true,
    });
    const k = await lock("bare");
    const error = await bare.acquire(k.request()).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "ServiceUnavailable", message: expect.stringContaining("npm run db:migrate") });
  });

  it("applies each migration once, even when several deploys migrate at the same time", async () => {
    const prefix = freshPrefix();
    const runs = await Promise.all(
      [1, 2, 3].map(() => setupSchema({ connectionString: fixture.connectionString, prefix, localProxy: true })),
    );
    // Runs that waited for the lock may re-run the idempotent statements; each version is recorded once.
    expect(new Set(runs.flat())).toEqual(new Set([1, 2, 3]));
    expect(await setupSchema({ connectionString: fixture.connectionString, prefix, localProxy: true })).toEqual([]);
    const direct = new pg.Client({ connectionString: POSTGRES_URL });
    await direct.connect();
    try {
      const { rows } = await direct.query(`SELECT count(*)::int AS n FROM ${prefix}migrations`);
      expect(rows[0]).toEqual({ n: 3 });
    } finally {
      await direct.end();
    }
    // No racing deploy ran migration 1 again over what came after it: an idempotent retry
    // with another TTL is still refused (migration 1's functions would grant it).
    const backend = createNeonBackend({ connectionString: fixture.connectionString, prefix, localProxy: true });
    const k = await lock("after-race");
    expect(await backend.acquire(k.request({ idempotencyKey: "once", ttlMs: 5_000 }))).toMatchObject({ ok: true });
    expect(await backend.acquire(k.request({ idempotencyKey: "once", ttlMs: 6_000 }))).toMatchObject({
      ok: false,
      reason: "idempotency-mismatch",
    });
  });

  it("re-applies the lock functions when the database's copy is not the file's", async () => {
    const prefix = freshPrefix();
    const options = { connectionString: fixture.connectionString, prefix, localProxy: true };
    await setupSchema(options);
    const direct = new pg.Client({ connectionString: POSTGRES_URL });
    await direct.connect();
    try {
      // A copy from another release: a rule that lets nobody wait, under another hash.
      await direct.query(`CREATE OR REPLACE FUNCTION ${prefix}earliest_expiry(holders jsonb) RETURNS bigint
        LANGUAGE sql AS $$ SELECT 0::bigint $$`);
      await direct.query(`UPDATE ${prefix}functions SET sha256 = 'another release'`);
      await Promise.all([setupSchema(options), setupSchema(options)]);
      const { rows } = await direct.query(`SELECT ${prefix}earliest_expiry('[{"e": 42}]'::jsonb) AS e`);
      expect(rows[0]).toEqual({ e: "42" });
      const stored = await direct.query(
        `SELECT count(*)::int AS n FROM ${prefix}functions WHERE sha256 <> 'another release'`,
      );
      expect(stored.rows[0]).toEqual({ n: 1 });
    } finally {
      await direct.end();
    }
  });

  it("answers NetworkTimeout when a statement outlives its deadline", async () => {
    const slow = createNeonBackend({
      connectionString: fixture.connectionString,
      prefix: fixture.prefix,
      localProxy: true,
      timeoutMs: 1,
    });
    expect(await codeOf(slow.lookup((await lock("deadline")).lookupRef))).toBe("NetworkTimeout");
    await sleep(300); // the stand-in still runs (and counts) the abandoned statement: not the next test's
  });

  it("sends one statement in one round trip per operation", async () => {
    const k = await lock("count");
    const request = k.request();
    const operations: [string, () => Promise<unknown>][] = [
      ["acquire", () => fixture.backend.acquire(request)],
      ["extend", () => fixture.backend.extend(k.ref(request.token), 10_000)],
      ["owns", () => fixture.backend.owns(k.ref(request.token))],
      ["lookup", () => fixture.backend.lookup(k.lookupRef)],
      ["release", () => fixture.backend.release(k.ref(request.token))],
    ];
    for (const [name, operation] of operations) {
      fixture.standin.resetStats();
      await operation();
      expect([name, fixture.standin.stats()]).toEqual([name, { httpRequests: 1, statements: 1, wsConnections: 0 }]);
    }
  });

  it("treats keys and idempotency keys written as SQL as plain data", async () => {
    const k = await lock("hostile", `'; DROP TABLE ${fixture.prefix}locks; -- $1 {p} "x" \\ ü`);
    const grant = await fixture.backend.acquire(k.request({ idempotencyKey: `'";--$2` }));
    expect(grant).toMatchObject({ ok: true, fence: 1 });
    if (!grant.ok) return;
    expect(await fixture.backend.owns(k.ref(grant.token))).toMatchObject({ owned: true, key: k.key });
    expect(await fixture.backend.acquire(k.request({ idempotencyKey: `'";--$2` }))).toMatchObject({
      token: grant.token,
    });
    expect(await fixture.backend.lookup(k.lookupRef)).toMatchObject({ fence: 1, holders: [{ token: grant.token }] });
  });

  it("drops a waiter whose Worker died once its entry's deadline passes, and never grants it", async () => {
    const k = await lock("dead-waiter");
    const holder = await fixture.backend.acquire(k.request());
    if (!holder.ok) throw new Error("not granted");
    const ctx = createContext({ connectionString: fixture.connectionString, prefix: fixture.prefix, localProxy: true });
    // Queued, then nobody waits for the answer: as if the Worker had died.
    expect(await runAcquire(ctx, k.request(), 300)).toMatchObject({ queued: true });
    expect(await fixture.backend.acquire(k.request())).toMatchObject({ ok: false, reason: "locked" });
    await sleep(400);
    await fixture.backend.release(k.ref(holder.token));
    expect((await fixture.backend.lookup(k.lookupRef)).holders).toEqual([]);
    expect(await fixture.backend.acquire(k.request())).toMatchObject({ ok: true, fence: 2 });
  });

  it("serves a waiter whose LISTEN connection Postgres terminated, at the release", async () => {
    const k = await lock("terminated-listen");
    const holder = await fixture.backend.acquire(k.request({ ttlMs: 6_000 }));
    if (!holder.ok) throw new Error("not granted");
    const request = k.request({ ttlMs: 2_000 });
    const started = Date.now();
    const waiter = fixture.backend.acquireQueued?.(request, { waitMs: 10_000, signal: new AbortController().signal });
    const direct = new pg.Client({ connectionString: POSTGRES_URL });
    await direct.connect();
    try {
      for (let i = 0; i < 50; i++) {
        const { rowCount } = await direct.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE $1",
          [`LISTEN %${request.token}%`],
        );
        if (rowCount) break;
        await sleep(20);
      }
    } finally {
      await direct.end();
    }
    await fixture.backend.release(k.ref(holder.token)); // pushed to a connection that is gone
    expect(await waiter).toMatchObject({ ok: true, fence: 2 });
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe("Postgres stopped, restarted, and its connections terminated", () => {
  let cluster: Awaited<ReturnType<typeof startThrowawayPostgres>>;
  let fixture: Awaited<ReturnType<typeof neonFixture>>;
  beforeAll(async () => {
    cluster = await startThrowawayPostgres();
    fixture = await neonFixture({ postgresUrl: cluster.url, timeoutMs: 2_000, webSocketConstructor: ws });
  }, 60_000);
  afterAll(async () => {
    await fixture?.close();
    await cluster?.remove();
  });

  async function untilPostgresAnswers(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      try {
        await fixture.backend.time();
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error("the stand-in did not reach Postgres again");
  }

  it("answers ServiceUnavailable while Postgres is down, then finds every grant and fence again", async () => {
    const held = await lock("held");
    const counted = await lock("counted");
    const grant = await fixture.backend.acquire(held.request());
    const once = await fixture.backend.acquire(counted.request());
    if (!grant.ok || !once.ok) throw new Error("not granted");
    await fixture.backend.release(counted.ref(once.token));

    await cluster.stop();
    expect(await codeOf(fixture.backend.acquire(counted.request()))).toBe("ServiceUnavailable");
    expect(await codeOf(fixture.backend.release(held.ref(grant.token)))).toBe("ServiceUnavailable");
    expect(await codeOf(fixture.backend.owns(held.ref(grant.token)))).toBe("ServiceUnavailable");
    const waiter = fixture.backend.acquireQueued?.(held.request(), {
      waitMs: 3_000,
      signal: new AbortController().signal,
    });
    expect(await codeOf(waiter)).toBe("ServiceUnavailable");

    await cluster.start();
    await untilPostgresAnswers();
    expect(await fixture.backend.owns(held.ref(grant.token))).toMatchObject({ owned: true, holder: { fence: 1 } });
    expect(await fixture.backend.acquire(held.request())).toMatchObject({ ok: false, reason: "locked" });
    expect(await fixture.backend.acquire(counted.request())).toMatchObject({ ok: true, fence: 2 });
    expect(await fixture.backend.release(held.ref(grant.token))).toMatchObject({ ok: true });
  }, 60_000);

  it("survives pg_terminate_backend of its connections mid-run: clear errors, then a clean ledger", async () => {
    const k = await lock("terminate");
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    const codes = new Map<string, number>();
    let running = true;
    const terminator = (async () => {
      while (running) {
        await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
        );
        await sleep(30);
      }
    })();
    const deadline = Date.now() + 1_500;
    while (Date.now() < deadline) {
      try {
        const grant = await fixture.backend.acquire(k.request({ ttlMs: 5_000 }));
        if (grant.ok) await fixture.backend.release(k.ref(grant.token));
      } catch (error) {
        const code = isLockError(error) ? error.code : String(error);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    }
    running = false;
    await terminator;
    await admin.end();
    expect([...codes.keys()]).toEqual(["ServiceUnavailable"]); // some statements did meet a terminated connection
    await untilPostgresAnswers();
    expect((await fixture.backend.lookup(k.lookupRef)).holders.length).toBeLessThanOrEqual(1);
    const report = await runContention(fixture.backend, { workers: 32, keys: 2, grantsPerWorker: 3, holdMs: 1 });
    expect(report).toMatchObject({
      grants: 96,
      clientOverlaps: 0,
      storeOverlaps: 0,
      fenceViolations: 0,
      lostReleases: 0,
    });
  }, 60_000);
});
