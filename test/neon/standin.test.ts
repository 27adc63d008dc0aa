/**
 * The Neon proxy stand-in (local/standins/neon-proxy.ts), driven by the real driver
 * `@neondatabase/serverless` 1.2 against the real Postgres on 127.0.0.1:5432: neon() over
 * HTTP, Client and Pool over the WebSocket bridge. Raw fetches cover what the driver cannot
 * send; a TCP forwarder in front of Postgres stands for an outage.
 */
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { Client, NeonDbError, type NeonQueryFunction, neon, neonConfig, Pool } from "@neondatabase/serverless";
import { Client as PgClient } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NeonStandin, neonConfigFor, startNeonStandin } from "../../local/standins/neon-proxy.ts";
import { spawnNeonStandin } from "../../local/standins/spawn-neon.ts";

const POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test";
const suffix = randomUUID().replaceAll("-", "").slice(0, 12);
const table = `standin_test_${suffix}`;
/** A database and a role of this file's own, to show that the stand-in honours both from the connection string. */
const otherDatabase = `standin_test_db_${suffix}`;
const otherRole = `standin_test_role_${suffix}`;

let standin: NeonStandin;
let sql: NeonQueryFunction<false, false>;
/** Direct Postgres access, to check what the stand-in did. */
let direct: PgClient;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `check` is true, polling; fails after `ms`. */
async function until(check: () => Promise<boolean> | boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}

/** The NeonDbError that `pending` rejects with. */
async function dbError(pending: PromiseLike<unknown>): Promise<NeonDbError> {
  const error = await Promise.resolve(pending).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(NeonDbError);
  return error as NeonDbError;
}

async function count(where: string, params: unknown[]): Promise<number> {
  const result = await direct.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, params);
  return Number(result.rows[0]?.n);
}

function post(body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(standin.httpUrl, { method: "POST", headers, body: JSON.stringify(body) });
}

const driverHeaders = () => ({
  "Neon-Connection-String": standin.connectionString,
  "Neon-Raw-Text-Output": "true",
  "Neon-Array-Mode": "true",
});

beforeAll(async () => {
  standin = await startNeonStandin({ postgresUrl: POSTGRES_URL });
  // The driver's settings are global to its module: this file's stand-in for every test here.
  Object.assign(neonConfig, neonConfigFor(standin));
  sql = neon(standin.connectionString);
  direct = new PgClient(POSTGRES_URL);
  await direct.connect();
  await direct.query(`CREATE TABLE ${table} (id text PRIMARY KEY, note text)`);
  await direct.query(`CREATE ROLE ${otherRole} LOGIN`);
  // template0: nobody connects to it, so a concurrent test cannot block the copy.
  await direct.query(`CREATE DATABASE ${otherDatabase} TEMPLATE template0`);
});

afterAll(async () => {
  await standin?.close();
  if (!direct) return;
  await direct.query(`DROP TABLE IF EXISTS ${table}`);
  await direct.query(`DROP DATABASE IF EXISTS ${otherDatabase} WITH (FORCE)`);
  await direct.query(`DROP ROLE IF EXISTS ${otherRole}`);
  await direct.end();
});

describe("SQL over HTTP with neon()", () => {
  it("round-trips parameters of several types, each parsed by the driver from Postgres's text", async () => {
    const text = `it's "quoted" \\ back — ünïcødé ✓ 日本語 🎉`;
    const at = new Date("2026-11-23T12:34:56.789Z");
    const doc = { a: [1, "x", null], b: { c: true } };
    const bytes = Buffer.from([0, 1, 127, 128, 255]);
    const [row] = await sql`SELECT ${text}::text AS text, ${"9223372036854775807"}::int8 AS big,
      ${true}::boolean AS yes, ${null}::text AS nothing, ${at}::timestamptz AS at,
      ${doc}::jsonb AS doc, ${bytes} AS bytes, ${[1, 2, 3]}::int4[] AS list`;
    expect(row?.text).toBe(text);
    // int8 is not parsed by the driver: it arrives as its exact decimal text.
    expect(row?.big).toBe("9223372036854775807");
    expect(row?.yes).toBe(true);
    expect(row?.nothing).toBeNull();
    expect(row?.at).toBeInstanceOf(Date);
    expect((row?.at as Date).getTime()).toBe(at.getTime());
    expect(row?.doc).toEqual(doc);
    expect(Buffer.from(row?.bytes as Uint8Array)).toEqual(bytes);
    expect(row?.list).toEqual([1, 2, 3]);

    const [next] = await sql.query("SELECT $1::int8 + 1 AS next, $2::int4 * 2 AS twice", ["9007199254740992", 21]);
    expect(next).toEqual({ next: "9007199254740993", twice: 42 });
  });

  it("answers rows as arrays or as objects, as asked", async () => {
    const query = "SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, NULL";
    expect(await sql.query(query)).toEqual([
      { a: 1, b: "x" },
      { a: 2, b: null },
    ]);
    expect(await neon(standin.connectionString, { arrayMode: true }).query(query)).toEqual([
      [1, "x"],
      [2, null],
    ]);
    expect(await sql.query(query, [], { arrayMode: true })).toEqual([
      [1, "x"],
      [2, null],
    ]);
  });

  it("gives full results: command, rowCount, fields and rows", async () => {
    const full = neon(standin.connectionString, { fullResults: true });
    const inserted = await full.query(`INSERT INTO ${table} (id, note) VALUES ($1, 'one'), ($2, 'two')`, [
      `full-1-${suffix}`,
      `full-2-${suffix}`,
    ]);
    expect(inserted).toMatchObject({ command: "INSERT", rowCount: 2, rows: [], fields: [] });

    const selected = await full.query(`SELECT id, note, length(note) AS n FROM ${table} WHERE id LIKE $1 ORDER BY id`, [
      `full-%-${suffix}`,
    ]);
    expect(selected.command).toBe("SELECT");
    expect(selected.rowCount).toBe(2);
    expect(selected.rowAsArray).toBe(false);
    expect(selected.fields.map(({ name, dataTypeID }) => [name, dataTypeID])).toEqual([
      ["id", 25],
      ["note", 25],
      ["n", 23],
    ]);
    // Columns of a table carry its oid and their attribute number, as from Postgres.
    expect(selected.fields[0]?.tableID).toBeGreaterThan(0);
    expect(selected.fields[1]?.columnID).toBe(2);
    expect(selected.rows).toEqual([
      { id: `full-1-${suffix}`, note: "one", n: 3 },
      { id: `full-2-${suffix}`, note: "two", n: 3 },
    ]);
  });

  it("answers on the wire exactly the JSON the driver parses: raw text values, null as null", async () => {
    const response = await post(
      { query: "SELECT $1::int8 AS n, NULL::text AS z, true AS b", params: ["7"] },
      driverHeaders(),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({
      command: "SELECT",
      rowCount: 1,
      fields: [
        { name: "n", dataTypeID: 20, tableID: 0, columnID: 0, dataTypeSize: 8, dataTypeModifier: -1, format: "text" },
        { name: "z", dataTypeID: 25, tableID: 0, columnID: 0, dataTypeSize: -1, dataTypeModifier: -1, format: "text" },
        { name: "b", dataTypeID: 16, tableID: 0, columnID: 0, dataTypeSize: 1, dataTypeModifier: -1, format: "text" },
      ],
      rows: [["7", null, "t"]],
      rowAsArray: true,
    });
  });

  it("throws NeonDbError with Postgres's SQLSTATE and error fields", async () => {
    const divided = await dbError(sql`SELECT 1/0`);
    expect(divided).toMatchObject({ message: "division by zero", code: "22012", severity: "ERROR" });
    expect(divided.routine).toBeTruthy();

    const missing = await dbError(sql.query(`SELECT * FROM standin_missing_${suffix}`));
    expect(missing).toMatchObject({ code: "42P01", position: "15" });
    expect(missing.message).toContain(`standin_missing_${suffix}`);

    const id = `dup-${suffix}`;
    await sql.query(`INSERT INTO ${table} (id) VALUES ($1)`, [id]);
    const duplicate = await dbError(sql.query(`INSERT INTO ${table} (id) VALUES ($1)`, [id]));
    expect(duplicate).toMatchObject({ code: "23505", constraint: `${table}_pkey`, table, schema: "public" });
    expect(duplicate.detail).toContain(id);
  });

  it("runs each query on the extended protocol, as Neon does: one statement per query", async () => {
    const error = await dbError(sql.query("SELECT 1; SELECT 2"));
    expect(error.code).toBe("42601");
  });

  it("runs transaction() atomically: a failing statement rolls back the ones before it", async () => {
    const id = `atomic-${suffix}`;
    const error = await dbError(
      sql.transaction([
        sql`INSERT INTO ${sql.unsafe(table)} (id, note) VALUES (${id}, 'first')`,
        sql`INSERT INTO ${sql.unsafe(table)} (id, note) VALUES (${id}, 'again')`,
      ]),
    );
    expect(error.code).toBe("23505");
    expect(await count("id = $1", [id])).toBe(0);

    const [insert, selected, sameTransaction] = await sql.transaction([
      sql`INSERT INTO ${sql.unsafe(table)} (id, note) VALUES (${id}, 'first')`,
      sql`SELECT note FROM ${sql.unsafe(table)} WHERE id = ${id}`,
      sql`SELECT txid_current() = txid_current() AS same`,
    ]);
    expect(insert).toEqual([]);
    expect(selected).toEqual([{ note: "first" }]);
    expect(sameTransaction).toEqual([{ same: true }]);
    const [a, b] = await sql.transaction([sql`SELECT txid_current() AS x`, sql`SELECT txid_current() AS x`]);
    expect(a).toEqual(b);
  });

  it("honours the batch's isolation level, read-only and deferrable options", async () => {
    const show = () => [
      sql`SHOW transaction_isolation`,
      sql`SHOW transaction_read_only`,
      sql`SHOW transaction_deferrable`,
    ];
    expect(await sql.transaction(show())).toEqual([
      [{ transaction_isolation: "read committed" }],
      [{ transaction_read_only: "off" }],
      [{ transaction_deferrable: "off" }],
    ]);
    expect(await sql.transaction(show(), { isolationLevel: "Serializable", readOnly: true, deferrable: true })).toEqual(
      [
        [{ transaction_isolation: "serializable" }],
        [{ transaction_read_only: "on" }],
        [{ transaction_deferrable: "on" }],
      ],
    );
    const [repeatable] = await sql.transaction([sql`SHOW transaction_isolation`], { isolationLevel: "RepeatableRead" });
    expect(repeatable).toEqual([{ transaction_isolation: "repeatable read" }]);

    const readOnly = await dbError(
      sql.transaction([sql`INSERT INTO ${sql.unsafe(table)} (id) VALUES (${`ro-${suffix}`})`], { readOnly: true }),
    );
    expect(readOnly.code).toBe("25006");
  });

  it("connects as the user and database named in the connection string, whatever its host", async () => {
    const other = neon(`postgres://${otherRole}@ep-fake-123.eu-central-1.aws.neon.tech/${otherDatabase}`);
    expect(await other`SELECT current_user AS "user", current_database() AS db`).toEqual([
      { user: otherRole, db: otherDatabase },
    ]);
    const noDatabase = await dbError(neon(`postgres://postgres@x.neon.tech/standin_none_${suffix}`)`SELECT 1`);
    expect(noDatabase.code).toBe("3D000");
    const noRole = await dbError(neon(`postgres://standin_nobody_${suffix}@x.neon.tech/test`)`SELECT 1`);
    expect(noRole.code).toBe("28000");
  });

  it("rejects a missing or garbled Neon-Connection-String with 400, as Neon does", async () => {
    // fetchOptions.headers replaces every header the driver sets, the connection string included.
    const viaDriver = await dbError(sql.query("SELECT 1", [], { fetchOptions: { headers: { "X-Test": "1" } } }));
    expect(viaDriver.message).toBe("invalid header: neon-connection-string");

    const { "Neon-Connection-String": _, ...withoutConnection } = driverHeaders();
    const missing = await post({ query: "SELECT 1" }, withoutConnection);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ message: "invalid header: neon-connection-string", code: "" });

    const answer = async (connectionString: string) => {
      const response = await post(
        { query: "SELECT 1" },
        { ...driverHeaders(), "Neon-Connection-String": connectionString },
      );
      return { status: response.status, message: ((await response.json()) as { message: string }).message };
    };
    expect(await answer("not a url")).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^invalid connection string/),
    });
    expect(await answer("mysql://root@host/db")).toEqual({ status: 400, message: "incorrect scheme" });
    expect(await answer("postgres://postgres@host/")).toEqual({ status: 400, message: "missing database name" });
    expect(await answer("postgres://host/test")).toEqual({ status: 400, message: "missing username" });
  });

  it("answers 400 for a body, isolation level or output mode it cannot take, and 404 elsewhere", async () => {
    const bad = await fetch(standin.httpUrl, { method: "POST", headers: driverHeaders(), body: "{not json" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/^could not parse the HTTP request body/);
    const level = await post({ queries: [] }, { ...driverHeaders(), "Neon-Batch-Isolation-Level": "Chaos" });
    expect(await level.json()).toMatchObject({ message: "invalid isolation level" });
    const typed = await post({ query: "SELECT 1" }, { ...driverHeaders(), "Neon-Raw-Text-Output": "false" });
    expect(typed.status).toBe(400);
    const elsewhere = await fetch(standin.httpUrl.replace(/\/sql$/, "/nope"), { method: "POST", body: "{}" });
    expect(elsewhere.status).toBe(404);
  });

  it("cancels the statement of a client that went away", async () => {
    const marker = `sleeper_${suffix}`;
    const running = async () => {
      const result = await direct.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()",
        [marker],
      );
      return Number(result.rows[0]?.n);
    };
    const controller = new AbortController();
    // A NeonQueryPromise sends nothing until it is awaited (and sends again on every then()).
    const pending = dbError(
      sql.query(`SELECT pg_sleep(30) /* ${marker} */`, [], { fetchOptions: { signal: controller.signal } }),
    );
    await until(async () => (await running()) === 1);
    controller.abort();
    const error = await pending;
    expect(error.message).toMatch(/^Error connecting to database: /);
    await until(async () => (await running()) === 0, 3_000);
    expect(await sql`SELECT 'still serving' AS s`).toEqual([{ s: "still serving" }]);
  }, 15_000);
});

describe("the WebSocket bridge with Client and Pool", () => {
  it("runs a multi-statement transaction on one Client", async () => {
    const client = new Client(standin.connectionString);
    await client.connect();
    try {
      const ids = [`ws-1-${suffix}`, `ws-2-${suffix}`];
      await client.query("BEGIN");
      for (const id of ids) await client.query(`INSERT INTO ${table} (id, note) VALUES ($1, 'ws')`, [id]);
      const inside = await client.query(`SELECT count(*)::int AS n FROM ${table} WHERE id = ANY($1)`, [ids]);
      expect(inside.rows).toEqual([{ n: 2 }]);
      expect(await count("id = ANY($1)", [ids])).toBe(0);
      await client.query("COMMIT");
      expect(await count("id = ANY($1)", [ids])).toBe(2);

      await client.query("BEGIN");
      await client.query(`DELETE FROM ${table} WHERE id = ANY($1)`, [ids]);
      await client.query("ROLLBACK");
      expect(await count("id = ANY($1)", [ids])).toBe(2);
    } finally {
      await client.end();
    }
  });

  it("serves the driver's Pool", async () => {
    const pool = new Pool({ connectionString: standin.connectionString, max: 2 });
    try {
      const results = await Promise.all([1, 2, 3].map((n) => pool.query("SELECT $1::int * 10 AS n", [n])));
      expect(results.map((result) => result.rows[0])).toEqual([{ n: 10 }, { n: 20 }, { n: 30 }]);
    } finally {
      await pool.end();
    }
  });

  it("delivers a NOTIFY sent over HTTP to a Client that LISTENs", async () => {
    const channel = `standin_channel_${suffix}`;
    const listener = new Client(standin.connectionString);
    await listener.connect();
    try {
      const received = new Promise<{ channel: string; payload?: string | undefined }>((resolve) =>
        listener.on("notification", resolve),
      );
      await listener.query(`LISTEN ${channel}`);
      await sql`SELECT pg_notify(${channel}, ${"wake up ✓"})`;
      expect(await received).toMatchObject({ channel, payload: "wake up ✓" });
    } finally {
      await listener.end();
    }
  });

  it("errors a Client whose backend is terminated, and keeps serving others", async () => {
    const victim = new Client(standin.connectionString);
    const failed = new Promise<Error>((resolve) => victim.on("error", resolve));
    await victim.connect();
    const { rows } = await victim.query("SELECT pg_backend_pid() AS pid");
    await direct.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
    expect((await failed).message).toMatch(/terminat/i);
    await expect(victim.query("SELECT 1")).rejects.toThrow();

    const survivor = new Client(standin.connectionString);
    await survivor.connect();
    expect((await survivor.query("SELECT 'alive' AS s")).rows).toEqual([{ s: "alive" }]);
    await survivor.end();
    expect(await sql`SELECT 1 AS one`).toEqual([{ one: 1 }]);
  }, 10_000);

  it("closes the Postgres connection when the Client ends", async () => {
    const client = new Client(standin.connectionString);
    await client.connect();
    const { rows } = await client.query("SELECT pg_backend_pid() AS pid");
    await client.end();
    await until(async () => {
      const result = await direct.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1", [
        rows[0]?.pid,
      ]);
      return result.rows[0]?.n === 0;
    });
  });

  it("refuses an upgrade on a path other than /v2", async () => {
    const socket = tcpConnect(Number(new URL(standin.httpUrl).port), "127.0.0.1");
    socket.write(
      "GET /nope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    const [reply] = (await once(socket, "data")) as [Buffer];
    expect(reply.toString()).toMatch(/^HTTP\/1\.1 404/);
    socket.destroy();
  });
});

describe("test hooks", () => {
  it("counts HTTP requests, statements (each of a batch) and WebSocket connections", async () => {
    standin.resetStats();
    await sql`SELECT 1`;
    await sql.transaction([sql`SELECT 1`, sql`SELECT 2`, sql`SELECT 3`]);
    await dbError(sql`SELECT 1/0`);
    expect(standin.stats()).toEqual({ httpRequests: 3, statements: 5, wsConnections: 0 });
    const client = new Client(standin.connectionString);
    await client.connect();
    await client.end();
    expect(standin.stats()).toEqual({ httpRequests: 3, statements: 5, wsConnections: 1 });
    standin.resetStats();
    expect(standin.stats()).toEqual({ httpRequests: 0, statements: 0, wsConnections: 0 });
  });

  it("drops a response after running it: the driver fails the query and does not retry it", async () => {
    const id = `dropped-${suffix}`;
    standin.resetStats();
    standin.dropNextResponse((body) => body.query?.includes("/* drop me */") ?? false);
    const error = await dbError(sql.query(`INSERT INTO ${table} (id) VALUES ($1) /* drop me */`, [id]));
    expect(error.message).toMatch(/^Error connecting to database: TypeError: fetch failed/);
    // It ran once, and only once: the driver sends one fetch per query.
    expect(await count("id = $1", [id])).toBe(1);
    expect(standin.stats()).toMatchObject({ httpRequests: 1, statements: 1 });
    // The matcher was used up.
    expect(await sql.query(`SELECT count(*)::int AS n FROM ${table} WHERE id = $1 /* drop me */`, [id])).toEqual([
      { n: 1 },
    ]);
  });

  it("drops a batch's response after committing it", async () => {
    const id = `dropped-batch-${suffix}`;
    standin.dropNextResponse((body) => body.queries?.some((query) => query.query.includes("dropped batch")) ?? false);
    const error = await dbError(
      sql.transaction([sql`INSERT INTO ${sql.unsafe(table)} (id, note) VALUES (${id}, 'dropped batch')`]),
    );
    expect(error.message).toMatch(/^Error connecting to database: /);
    expect(await count("id = $1", [id])).toBe(1);
  });
});

describe("as a process of its own (CLI mode, local/standins/spawn-neon.ts)", () => {
  it("serves the driver and reports its counts on the stats route", async () => {
    const spawned = await spawnNeonStandin(POSTGRES_URL);
    try {
      Object.assign(neonConfig, neonConfigFor(spawned));
      expect(await neon(spawned.connectionString)`SELECT 'from a child' AS s`).toEqual([{ s: "from a child" }]);
      const client = new Client(spawned.connectionString);
      await client.connect();
      await client.end();
      expect(await spawned.stats()).toEqual({ httpRequests: 1, statements: 1, wsConnections: 1 });
      await spawned.resetStats();
      expect(await spawned.stats()).toEqual({ httpRequests: 0, statements: 0, wsConnections: 0 });
    } finally {
      Object.assign(neonConfig, neonConfigFor(standin));
      await spawned.stop();
    }
  }, 30_000);
});

describe("when Postgres is not there", () => {
  it("refuses to start against a closed port, naming Postgres and the URL", async () => {
    const started = performance.now();
    await expect(startNeonStandin({ postgresUrl: "postgres://postgres@127.0.0.1:1/test" })).rejects.toThrow(
      /cannot reach Postgres at postgres:\/\/postgres@127\.0\.0\.1:1\/test/,
    );
    expect(performance.now() - started).toBeLessThan(5_000);
  }, 10_000);

  describe("a Postgres that goes away and comes back (a TCP forwarder in front of it)", () => {
    let forwarder: Forwarder;
    let outage: NeonStandin;
    let sqlOutage: NeonQueryFunction<false, false>;

    beforeAll(async () => {
      forwarder = await startForwarder(5432);
      outage = await startNeonStandin({ postgresUrl: `postgres://postgres@127.0.0.1:${forwarder.port}/test` });
      sqlOutage = neon(outage.connectionString);
      Object.assign(neonConfig, neonConfigFor(outage));
    });
    afterAll(async () => {
      Object.assign(neonConfig, neonConfigFor(standin));
      await outage?.close();
      await forwarder?.close();
    });

    it("answers 500 naming Postgres while it is unreachable, and recovers when it is back", async () => {
      expect(await sqlOutage`SELECT 1 AS one`).toEqual([{ one: 1 }]);
      await forwarder.stop();
      const error = await dbError(sqlOutage`SELECT 1 AS one`);
      expect(error.message).toMatch(
        /^Server error \(HTTP status 500\): .*cannot reach Postgres at postgres:\/\/postgres@127\.0\.0\.1:\d+\/test/,
      );
      const client = new Client(outage.connectionString);
      client.on("error", () => undefined);
      await expect(client.connect()).rejects.toThrow();

      await forwarder.start();
      await until(() =>
        sqlOutage`SELECT 1`.then(
          () => true,
          () => false,
        ),
      );
      expect(await sqlOutage`SELECT 2 AS two`).toEqual([{ two: 2 }]);
    }, 15_000);

    it("answers 400 without a SQLSTATE when the connection breaks under a statement", async () => {
      const pending = dbError(sqlOutage`SELECT pg_sleep(5)`);
      await sleep(300);
      await forwarder.stop();
      const error = await pending;
      expect(error.message).toMatch(/^connection to Postgres lost: /);
      expect(error.code).toBe("");
      // Postgres notices a vanished client only when the statement ends: end it now.
      await direct.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [
        `neon-standin:${new URL(outage.httpUrl).port}`,
      ]);
      await forwarder.start();
      await until(() =>
        sqlOutage`SELECT 1`.then(
          () => true,
          () => false,
        ),
      );
    }, 15_000);
  });
});

interface Forwarder {
  port: number;
  /** Closes the listener and cuts every forwarded connection. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** A TCP forwarder to 127.0.0.1:`targetPort` that can be cut and restored: an outage without touching the shared Postgres. */
async function startForwarder(targetPort: number): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    const next = createServer((inbound) => {
      const outbound = tcpConnect(targetPort, "127.0.0.1");
      for (const socket of [inbound, outbound]) {
        sockets.add(socket);
        socket.on("error", () => undefined);
        socket.on("close", () => {
          sockets.delete(socket);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    next.listen(port, "127.0.0.1");
    await once(next, "listening");
    const address = next.address();
    if (!address || typeof address === "string") throw new Error("no port");
    port = address.port;
    server = next;
  };
  const stop = async () => {
    const current = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (current) await new Promise((resolve) => current.close(resolve));
  };
  await listen();
  return { port, stop, start: listen, close: stop };
}
