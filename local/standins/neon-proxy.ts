/**
 * Local stand-ins for Neon's hosted serverless proxy, for local development and tests.
 *
 * They are NOT a Postgres emulation: every statement is executed by a real Postgres (the
 * one at `postgresUrl`). This file only speaks, in front of that Postgres, the two
 * protocols that `@neondatabase/serverless` 1.2 uses to reach Neon's proxy:
 *
 * - SQL over HTTP (`neon()`, `sql.transaction()`): `POST /sql`, run with node-postgres on a
 *   small pool per (user, database) named in the `Neon-Connection-String` header.
 * - WebSocket to TCP (`Client`, `Pool`): an upgrade on `/v2`, each binary frame written to a
 *   TCP connection to Postgres and each TCP chunk sent back as a binary frame; the
 *   Postgres wire protocol runs end to end (LISTEN/NOTIFY included).
 * Both are served by one HTTP server. The HTTP endpoint's connections carry
 * application_name `neon-standin:PORT` in pg_stat_activity; bridged ones carry the driver's.
 *
 * What the driver needs and does (read from its index.mjs, 1.2.0):
 * - `neon(connectionString)` accepts any `postgres:`/`postgresql:` URL with a user, a host
 *   and a database; a password is optional and the host need not look like Neon's. It adds
 *   `?application_name=pkg:npm/%40neondatabase/serverless@1.2.0` and sends the result as
 *   `Neon-Connection-String`. The stand-in ignores the host and port and honours the user,
 *   database and password.
 * - It POSTs to `neonConfig.fetchEndpoint`: a string used as is, or a function of
 *   (host, port, {jwtAuth}). Plain http is fine. The default is `https://api.<host minus its
 *   first label>/sql`. `fetchConnectionCache` is deprecated and always true (setting it only
 *   logs a warning). `neonConfig` is global to the module: set it per test file.
 * - The body is `{"query","params"}` or, for `transaction()`, `{"queries":[…]}`, sent as
 *   `text/plain;charset=UTF-8`. Params arrive as text already (node-postgres's prepareValue;
 *   a Buffer as `\x…` hex, with `::bytea` appended after its `$n` in tagged templates).
 *   Headers, always: `Neon-Raw-Text-Output: true`, `Neon-Array-Mode: true`; for batches only
 *   the options that were set: `Neon-Batch-Isolation-Level` (ReadUncommitted, ReadCommitted,
 *   RepeatableRead, Serializable), `Neon-Batch-Read-Only`, `Neon-Batch-Deferrable`;
 *   `Authorization: Bearer …` when an authToken is given.
 * - A 200 answer is parsed as `{fields, rows, command, rowCount, rowAsArray}` (batches:
 *   `{results:[…]}`, anything else is "Neon internal error: unexpected result format"). The
 *   driver itself parses every non-null text value with node-postgres's parser for the
 *   field's `dataTypeID`, so values here stay Postgres's text: int8 stays a string, jsonb
 *   is JSON.parsed, bytea becomes a Buffer.
 * - A 400 answer becomes a `NeonDbError(body.message)` carrying body.severity, code, detail,
 *   hint, position, internalPosition, internalQuery, where, schema, table, column, dataType,
 *   constraint, file, line, routine. Any other status becomes
 *   `NeonDbError("Server error (HTTP status N): <body text>")`, and a failed fetch
 *   `NeonDbError("Error connecting to database: <error>")`. The driver never retries: one
 *   fetch per query or batch.
 * - A query is a lazy NeonQueryPromise: nothing is sent until then() is called, and every
 *   then()/catch()/finally() call sends it again. `fetchOptions.headers` replaces all the
 *   headers above, Neon-Connection-String included.
 * - WebSocket: it opens `(useSecureWebSocket ? "wss" : "ws") + "://" + wsProxy(host, port)`
 *   (a string wsProxy gets `?address=host:port` appended). Node 20 needs
 *   `webSocketConstructor` (the `ws` package). The default `pipelineConnect: "password"`
 *   sends a password message before Postgres asks for one, which a trust-auth Postgres
 *   answers with a protocol error: set it to false here (neonConfigFor does).
 *
 * Where it differs from Neon, on purpose: Postgres's own authentication applies (no
 * password is required, the Authorization header is not checked); only raw text output is
 * implemented (all the driver asks for); responses have no size limit; a statement runs as
 * long as it runs, until the HTTP client goes away — then, like Neon, the stand-in cancels
 * it (`pg_cancel_backend`) and discards that connection; beyond POOL_MAX statements at once
 * for one (user, database), a request waits for a connection.
 *
 * Run directly for local development:
 *   POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test PORT=4444 \
 *     node --import tsx local/standins/neon-proxy.ts
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { resolve } from "node:path";
import type { Duplex } from "node:stream";
import { pathToFileURL } from "node:url";
import type { neonConfig } from "@neondatabase/serverless";
import {
  Client,
  type ClientConfig,
  type CustomTypesConfig,
  DatabaseError,
  Pool,
  type PoolClient,
  type QueryResult,
} from "pg";
import WebSocket, { WebSocketServer } from "ws";
import { closeServer, errorMessage, HttpError, readBody } from "./http.ts";

export interface NeonStandinOptions {
  /** The real Postgres. Default postgres://postgres@127.0.0.1:5432/test. */
  postgresUrl?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Connections of the SQL-over-HTTP pool per (user, database); default POOL_MAX. */
  poolMax?: number;
}

export interface NeonStandin {
  /** For neonConfig.fetchEndpoint: http://127.0.0.1:PORT/sql */
  httpUrl: string;
  /** For neonConfig.wsProxy: host:port of the bridge (the same server; its path is /v2). */
  wsProxy: string;
  /** A connection string the driver accepts, naming the stand-in's Postgres user and database on a fake Neon host. */
  connectionString: string;
  /** Statements executed over HTTP (each query of a batch counts), HTTP requests to /sql, WebSocket connections opened. */
  stats(): NeonStandinStats;
  resetStats(): void;
  /** Fault injection: the next HTTP request whose body satisfies `match` is executed, then its response is not sent (socket destroyed) — a lost response. */
  dropNextResponse(match: (body: DropMatchBody) => boolean): void;
  /** Closes the server, every WebSocket and its TCP connection, and every pool. */
  close(): Promise<void>;
}

export interface NeonStandinStats {
  httpRequests: number;
  statements: number;
  wsConnections: number;
}

export interface DropMatchBody {
  query?: string;
  queries?: { query: string }[];
}

export type NeonConfigSettings = Partial<typeof neonConfig>;

export const DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test";
/**
 * Not part of Neon's protocol: the stand-in's counts, for benchmarks that run it as a
 * process of its own (GET reads them, POST reads and resets them).
 */
export const STATS_PATH = "/_standin/stats";
/** The host in `connectionString`: never resolved, since both protocols ignore it. */
const FAKE_NEON_HOST = "localhost.neon";
/** Neon's default request limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 5_000;
const POOL_MAX = 20;
/** Above this many bytes queued on a WebSocket, reading from Postgres pauses. */
const WS_HIGH_WATER = 1024 * 1024;
/** A WebSocket close reason is at most 123 bytes. */
const MAX_CLOSE_REASON = 120;

const ISOLATION_LEVELS: Record<string, string> = {
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
  Serializable: "SERIALIZABLE",
};

/** The fields the driver copies from a 400 answer onto its NeonDbError, in Neon's order. */
const ERROR_FIELDS = [
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "severity",
  "where",
  "table",
  "column",
  "schema",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

/** node-postgres with every type left as Postgres's text: this is Neon's raw text output. */
const RAW_TEXT_TYPES = { getTypeParser: () => (value: string) => value } as unknown as CustomTypesConfig;

/** Postgres could not be reached (refused, or gone before the session started): Neon answers 500. */
class PostgresUnreachable extends Error {}

/** The connection broke while a statement ran: Neon answers 400, with no SQLSTATE. */
class PostgresLost extends Error {}

/** A Postgres URL for messages, without its password. */
export function redact(postgresUrl: string): string {
  try {
    const url = new URL(postgresUrl);
    if (!url.password) return postgresUrl;
    url.password = "***";
    return url.toString();
  } catch {
    return postgresUrl;
  }
}

// ---------------------------------------------------------------------------------------
// Where Postgres is, and who to be there

interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  database: string;
  password: string | undefined;
}

function parsePostgresUrl(postgresUrl: string): PostgresTarget {
  let url: URL;
  try {
    url = new URL(postgresUrl);
  } catch {
    throw new Error(`Neon proxy stand-in: not a Postgres URL: ${redact(postgresUrl)}`);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new Error(`Neon proxy stand-in: not a Postgres URL: ${redact(postgresUrl)}`);
  }
  const user = decodeURIComponent(url.username) || "postgres";
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1",
    port: Number(url.port || 5432),
    user,
    database: decodeURIComponent(url.pathname.slice(1)) || user,
    password: url.password ? decodeURIComponent(url.password) : undefined,
  };
}

/** The connection string to give the driver: the stand-in's user and database, on a host only the driver sees. */
export function connectionStringFor(postgresUrl = DEFAULT_POSTGRES_URL): string {
  const { user, password, port, database } = parsePostgresUrl(postgresUrl);
  const auth =
    password === undefined ? encodeURIComponent(user) : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  return `postgres://${auth}@${FAKE_NEON_HOST}:${port}/${encodeURIComponent(database)}`;
}

/**
 * Who to be in Postgres, from `Neon-Connection-String`, with Neon's checks and messages.
 * Host and port are the configured Postgres's, whatever the header names.
 */
function targetFromHeader(header: string | string[] | undefined, base: PostgresTarget): PostgresTarget {
  if (typeof header !== "string") throw new HttpError(400, "invalid header: neon-connection-string");
  let url: URL;
  try {
    url = new URL(header);
  } catch (error) {
    throw new HttpError(400, `invalid connection string: ${errorMessage(error)}`);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") throw new HttpError(400, "incorrect scheme");
  const database = safeDecode(url.pathname.replace(/^\//, "").split("/")[0] ?? "");
  if (!database) throw new HttpError(400, "missing database name");
  const user = safeDecode(url.username);
  if (!user) throw new HttpError(400, "missing username");
  const given = url.password ? safeDecode(url.password) : undefined;
  // A header without a password keeps the configured one for the configured user.
  const password = given ?? (user === base.user ? base.password : undefined);
  return { ...base, user, database, password };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpError(400, "invalid connection string: bad percent-encoding");
  }
}

function clientConfig(target: PostgresTarget, applicationName: string): ClientConfig {
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    database: target.database,
    ...(target.password === undefined ? {} : { password: target.password }),
    application_name: applicationName,
    types: RAW_TEXT_TYPES,
  };
}

/** A connection of its own, bounded in time: for the start-up check and for cancels. */
async function oneOffClient(target: PostgresTarget, applicationName: string): Promise<Client> {
  const client = new Client({ ...clientConfig(target, applicationName), connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------
// Request parsing

interface QueryData {
  query: string;
  params: (string | null)[];
  /** Neon also takes arrayMode per query in the body; the driver never sends it. */
  arrayMode: boolean | undefined;
}

type Payload = { kind: "single"; query: QueryData } | { kind: "batch"; queries: QueryData[] };

interface RequestOptions {
  arrayMode: boolean;
  isolationLevel: string | undefined;
  readOnly: boolean;
  deferrable: boolean;
}

/** Neon's reading: a header is on only when it is exactly "true". */
function parseOptions(req: IncomingMessage): RequestOptions {
  const header = (name: string) => req.headers[name]?.toString();
  if (header("neon-raw-text-output") !== "true") {
    throw new HttpError(
      400,
      "the Neon stand-in implements only Neon-Raw-Text-Output: true (all @neondatabase/serverless sends)",
    );
  }
  const isolation = header("neon-batch-isolation-level");
  if (isolation !== undefined && !ISOLATION_LEVELS[isolation]) throw new HttpError(400, "invalid isolation level");
  return {
    arrayMode: header("neon-array-mode") === "true",
    isolationLevel: isolation,
    readOnly: header("neon-batch-read-only") === "true",
    deferrable: header("neon-batch-deferrable") === "true",
  };
}

function badBody(reason: string): HttpError {
  return new HttpError(400, `could not parse the HTTP request body: ${reason}`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badBody(errorMessage(error));
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function toQueryData(value: unknown): QueryData {
  if (!isRecord(value) || typeof value.query !== "string") throw badBody('expected an object with a string "query"');
  const { params = [], arrayMode } = value;
  if (!Array.isArray(params)) throw badBody('"params" must be an array');
  if (arrayMode !== undefined && typeof arrayMode !== "boolean") throw badBody('"arrayMode" must be a boolean');
  return { query: value.query, params: params.map(toPgText), arrayMode };
}

/** Like Neon's untagged enum: a body with "query" is one query, else it must have "queries". */
function toPayload(body: unknown): Payload {
  if (isRecord(body) && "query" in body) return { kind: "single", query: toQueryData(body) };
  if (isRecord(body) && Array.isArray(body.queries)) return { kind: "batch", queries: body.queries.map(toQueryData) };
  throw badBody('expected {"query", "params"} or {"queries": [...]}');
}

/** Neon's json_to_pg_text: strings as they are, null as NULL, arrays as Postgres array literals, the rest as JSON. */
function toPgText(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return toPgArrayElement(value);
  return JSON.stringify(value);
}

function toPgArrayElement(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (Array.isArray(value)) return `{${value.map(toPgArrayElement).join(",")}}`;
  // Inside an array literal a string is quoted; Neon quotes it with JSON's escaping.
  if (isRecord(value)) return JSON.stringify(JSON.stringify(value));
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------
// Answers

interface QueryJson {
  command: string;
  rowCount: number | null;
  fields: {
    name: string;
    dataTypeID: number;
    tableID: number;
    columnID: number;
    dataTypeSize: number;
    dataTypeModifier: number;
    format: string;
  }[];
  rows: unknown[];
  rowAsArray: boolean;
}

function toQueryJson(result: QueryResult<unknown[] | Record<string, unknown>>, arrayMode: boolean): QueryJson {
  return {
    // node-postgres reads command and rowCount from the command tag as Neon does (INSERT's count after its oid).
    command: result.command,
    rowCount: result.rowCount,
    fields: result.fields.map((field) => ({
      name: field.name,
      dataTypeID: field.dataTypeID,
      tableID: field.tableID,
      columnID: field.columnID,
      dataTypeSize: field.dataTypeSize,
      dataTypeModifier: field.dataTypeModifier,
      format: "text",
    })),
    rows: result.rows,
    rowAsArray: arrayMode,
  };
}

interface Outcome {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** Neon's error body: Postgres's fields when Postgres raised it, else code and severity "" and the rest null. */
function errorBody(message: string, db?: DatabaseError, code?: string): Record<string, unknown> {
  const body: Record<string, unknown> = { message };
  for (const field of ERROR_FIELDS) {
    const fallback = field === "code" || field === "severity" ? "" : null;
    body[field] = db?.[field] ?? fallback;
  }
  if (code !== undefined) body.code = code;
  return body;
}

function errorOutcome(error: unknown, postgresUrl: string): Outcome {
  const plain = (status: number, body: unknown): Outcome => ({ status, body, headers: {} });
  if (error instanceof DatabaseError) return plain(400, errorBody(error.message, error));
  if (error instanceof HttpError) return plain(error.status, errorBody(error.message));
  if (error instanceof PostgresLost) return plain(400, errorBody(error.message));
  if (error instanceof PostgresUnreachable) {
    // connection_failure: not Neon's (it sends ""), but it tells a reader what happened.
    return plain(
      500,
      errorBody(`cannot reach Postgres at ${redact(postgresUrl)}: ${error.message}`, undefined, "08006"),
    );
  }
  return plain(500, errorBody(`Neon stand-in failure: ${errorMessage(error)}`));
}

// ---------------------------------------------------------------------------------------
// Postgres connections for the HTTP endpoint

/** One small pool per (user, database, password): a pooled connection keeps the session it was opened with. */
class Pools {
  private readonly pools = new Map<string, Pool>();

  constructor(
    private readonly applicationName: string,
    private readonly poolMax: number,
  ) {}

  async connect(target: PostgresTarget): Promise<PoolClient> {
    try {
      return await this.pool(target).connect();
    } catch (error) {
      // Postgres answered (no such database or role, auth failed): its error goes to the client as is.
      if (error instanceof DatabaseError) throw error;
      throw new PostgresUnreachable(errorMessage(error));
    }
  }

  /** Cancels what backend `pid` runs, from a connection of its own so that a full pool cannot delay it. */
  async cancel(target: PostgresTarget, pid: number): Promise<void> {
    const client = await oneOffClient(target, `${this.applicationName}:cancel`);
    try {
      await client.query("SELECT pg_cancel_backend($1)", [pid]);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private pool(target: PostgresTarget): Pool {
    const key = JSON.stringify([target.user, target.database, target.password ?? null]);
    let pool = this.pools.get(key);
    if (!pool) {
      // No connectionTimeoutMillis: pg-pool would apply it to waiting for a free connection
      // too, and fail the request behind POOL_MAX long statements as if Postgres were away.
      // A request waits for a connection as long as its caller waits.
      pool = new Pool({ ...clientConfig(target, this.applicationName), max: this.poolMax, idleTimeoutMillis: 30_000 });
      // An idle connection that Postgres drops must not crash the process; the pool replaces it.
      pool.on("error", () => undefined);
      // Nor one that drops between two statements of a batch.
      pool.on("connect", (client) => client.on("error", () => undefined));
      this.pools.set(key, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
  }
}

/**
 * Whether the HTTP client went away before its answer. Neon cancels the statement then,
 * and so does the stand-in: an abandoned lock wait must not go on to take the lock.
 */
class ClientWatch {
  gone = false;
  private listener: (() => void) | undefined;

  constructor(res: ServerResponse) {
    res.once("close", () => {
      if (res.writableFinished) return;
      this.gone = true;
      this.listener?.();
    });
  }

  onGone(listener: (() => void) | undefined): void {
    this.listener = listener;
  }
}

function processId(client: PoolClient): number {
  // node-postgres keeps the backend's pid from BackendKeyData; its types do not declare it.
  return (client as unknown as { processID: number }).processID;
}

// ---------------------------------------------------------------------------------------
// The server

class Standin {
  private readonly pools: Pools;
  private readonly base: PostgresTarget;
  private readonly sockets = new Set<Socket>();
  private drops: ((body: DropMatchBody) => boolean)[] = [];
  private counts: NeonStandinStats = { httpRequests: 0, statements: 0, wsConnections: 0 };

  constructor(
    private readonly postgresUrl: string,
    private readonly wss: WebSocketServer,
    private readonly applicationName: string,
    poolMax: number,
  ) {
    this.base = parsePostgresUrl(postgresUrl);
    this.pools = new Pools(applicationName, poolMax);
  }

  /** Fails loudly, naming Postgres and its URL, when Postgres cannot be used. */
  async start(): Promise<void> {
    try {
      const client = await oneOffClient(this.base, `${this.applicationName}:check`);
      await client.query("SELECT 1").finally(() => client.end());
    } catch (error) {
      throw new Error(
        `Neon proxy stand-in: cannot reach Postgres at ${redact(this.postgresUrl)}: ${errorMessage(error)}`,
      );
    }
  }

  stats(): NeonStandinStats {
    return { ...this.counts };
  }

  resetStats(): void {
    this.counts = { httpRequests: 0, statements: 0, wsConnections: 0 };
  }

  dropNextResponse(match: (body: DropMatchBody) => boolean): void {
    this.drops.push(match);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Neon sends this on every answer; browsers need it.
    res.setHeader("access-control-allow-origin", "*");
    try {
      await this.route(req, res);
    } catch (error) {
      this.send(res, errorOutcome(error, this.postgresUrl));
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://standin").pathname;
    if (path === STATS_PATH) {
      req.resume();
      if (req.method === "POST") this.resetStats();
      return this.send(res, { status: 200, body: this.stats(), headers: {} });
    }
    if (path !== "/sql") throw new HttpError(404, `no such route: ${req.method} ${path}`);
    if (req.method === "OPTIONS") return this.preflight(req, res);
    if (req.method !== "POST") throw new HttpError(405, `method not allowed: ${req.method}`);
    const watch = new ClientWatch(res);
    this.counts.httpRequests += 1;
    // Neon's order: connection string and headers first, then the body.
    const target = targetFromHeader(req.headers["neon-connection-string"], this.base);
    const options = parseOptions(req);
    const body = parseJson(
      await readBody(req, MAX_BODY_BYTES, `request is too large (max is ${MAX_BODY_BYTES} bytes)`),
    );
    const payload = toPayload(body);
    const drop = this.claimDrop(body as DropMatchBody);
    let outcome: Outcome;
    try {
      outcome = await this.execute(target, options, payload, watch);
    } catch (error) {
      outcome = errorOutcome(error, this.postgresUrl);
    }
    if (drop) {
      res.socket?.destroy();
      return;
    }
    this.send(res, outcome);
  }

  private preflight(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    res.writeHead(204, {
      "access-control-allow-methods": "POST, OPTIONS",
      "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "*",
      "access-control-max-age": "86400",
    });
    res.end();
  }

  /** The matcher is consumed when the request arrives, so exactly one request is dropped. */
  private claimDrop(body: DropMatchBody): boolean {
    const index = this.drops.findIndex((match) => match(body));
    if (index < 0) return false;
    this.drops.splice(index, 1);
    return true;
  }

  private async execute(
    target: PostgresTarget,
    options: RequestOptions,
    payload: Payload,
    watch: ClientWatch,
  ): Promise<Outcome> {
    if (payload.kind === "single") {
      const body = await this.withClient(target, watch, (client) => this.run(client, payload.query, options));
      return { status: 200, body, headers: {} };
    }
    const results = await this.withClient(target, watch, (client) => this.runBatch(client, payload.queries, options));
    return { status: 200, body: { results }, headers: batchHeaders(options) };
  }

  /**
   * A pooled connection for one request. It goes back to the pool only when it is known
   * good: after a lost connection, or a cancel (which might land on a later statement),
   * it is destroyed instead.
   */
  private async withClient<T>(
    target: PostgresTarget,
    watch: ClientWatch,
    work: (client: PoolClient) => Promise<T>,
  ): Promise<T> {
    const client = await this.pools.connect(target);
    if (watch.gone) {
      client.release();
      throw new HttpError(499, "client went away");
    }
    let cancelling: Promise<void> | undefined;
    watch.onGone(() => {
      // Handled at once: the cancel's own connection may be refused (53300 with Postgres
      // full) while the statement still runs, and an unhandled rejection ends the process
      // (npm start's, which hosts this stand-in).
      cancelling = this.pools.cancel(target, processId(client)).catch(() => undefined);
    });
    let reusable = true;
    try {
      return await work(client);
    } catch (error) {
      if (error instanceof DatabaseError) throw error;
      reusable = false;
      throw new PostgresLost(`connection to Postgres lost: ${errorMessage(error)}`);
    } finally {
      watch.onGone(undefined);
      // Wait for the cancel before letting the backend go, lest its pid be reused meanwhile.
      if (cancelling) {
        reusable = false;
        await cancelling;
      }
      client.release(!reusable);
    }
  }

  /** Always the extended protocol, as Neon's proxy: one statement per query, even without params. */
  private async run(client: PoolClient, data: QueryData, options: RequestOptions): Promise<QueryJson> {
    const arrayMode = data.arrayMode ?? options.arrayMode;
    const config = { text: data.query, values: data.params, queryMode: "extended" };
    this.counts.statements += 1;
    const result = arrayMode ? await client.query({ ...config, rowMode: "array" }) : await client.query(config);
    return toQueryJson(result, arrayMode);
  }

  /** One transaction, begun as Neon's proxy begins it; rolled back at the first error. */
  private async runBatch(client: PoolClient, queries: QueryData[], options: RequestOptions): Promise<QueryJson[]> {
    await client.query(beginStatement(options));
    try {
      const results: QueryJson[] = [];
      for (const query of queries) results.push(await this.run(client, query, options));
      await client.query("COMMIT");
      return results;
    } catch (error) {
      // After a failed COMMIT there is no transaction left: the ROLLBACK is then a no-op.
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  }

  private send(res: ServerResponse, outcome: Outcome): void {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(outcome.body);
    res.writeHead(outcome.status, {
      ...outcome.headers,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
  }

  // -------------------------------------------------------------------------------------
  // The WebSocket bridge

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => undefined);
    const path = new URL(req.url ?? "/", "http://standin").pathname;
    if (path !== "/v2") {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.bridge(ws));
  }

  /**
   * Bytes both ways, untouched. The requested `address` is ignored: every connection goes
   * to the configured Postgres, whatever host the driver was given.
   */
  private bridge(ws: WebSocket): void {
    this.counts.wsConnections += 1;
    const tcp = connect({ host: this.base.host, port: this.base.port });
    tcp.setNoDelay(true);
    this.sockets.add(tcp);
    let reason = "";
    let connected = false;
    tcp.once("connect", () => {
      connected = true;
    });
    // Writes made while the TCP connection is still opening are buffered by Node.
    ws.on("message", (data: Buffer) => {
      if (!tcp.write(data)) ws.pause();
    });
    tcp.on("drain", () => ws.resume());
    tcp.on("data", (chunk: Buffer) => this.forward(ws, tcp, chunk));
    tcp.on("error", (error) => {
      reason = connected
        ? `connection to Postgres lost: ${errorMessage(error)}`
        : `cannot reach Postgres at ${redact(this.postgresUrl)}: ${errorMessage(error)}`;
    });
    tcp.on("close", () => {
      this.sockets.delete(tcp);
      if (ws.readyState === WebSocket.OPEN) ws.close(reason ? 1011 : 1000, truncate(reason));
    });
    // end(), not destroy(): bytes still queued (a Terminate message) reach Postgres first.
    ws.on("close", () => tcp.end());
    ws.on("error", () => tcp.destroy());
  }

  /** Reading from Postgres pauses while the WebSocket has much unsent, so memory stays bounded. */
  private forward(ws: WebSocket, tcp: Socket, chunk: Buffer): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(chunk, { binary: true }, () => {
      if (tcp.isPaused() && ws.bufferedAmount < WS_HIGH_WATER) tcp.resume();
    });
    if (ws.bufferedAmount >= WS_HIGH_WATER) tcp.pause();
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    for (const tcp of this.sockets) tcp.destroy();
    this.sockets.clear();
    await this.pools.close();
  }
}

function beginStatement(options: RequestOptions): string {
  const modes: string[] = [];
  const level = options.isolationLevel && ISOLATION_LEVELS[options.isolationLevel];
  if (level) modes.push(`ISOLATION LEVEL ${level}`);
  if (options.readOnly) modes.push("READ ONLY");
  if (options.deferrable) modes.push("DEFERRABLE");
  return modes.length > 0 ? `START TRANSACTION ${modes.join(", ")}` : "START TRANSACTION";
}

/** Neon echoes the batch options it applied. */
function batchHeaders(options: RequestOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  if (options.readOnly) headers["neon-batch-read-only"] = "true";
  if (options.deferrable) headers["neon-batch-deferrable"] = "true";
  if (options.isolationLevel) headers["neon-batch-isolation-level"] = options.isolationLevel;
  return headers;
}

function truncate(reason: string): string {
  const bytes = Buffer.from(reason);
  return bytes.length <= MAX_CLOSE_REASON ? reason : bytes.subarray(0, MAX_CLOSE_REASON).toString("utf8");
}

export async function startNeonStandin(options: NeonStandinOptions = {}): Promise<NeonStandin> {
  const postgresUrl = options.postgresUrl ?? DEFAULT_POSTGRES_URL;
  const host = options.host ?? "127.0.0.1";
  const server = createServer();
  server.listen(options.port ?? 0, host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const wss = new WebSocketServer({ noServer: true });
  // The port in application_name tells this stand-in's connections apart in pg_stat_activity.
  const standin = new Standin(postgresUrl, wss, `neon-standin:${port}`, options.poolMax ?? POOL_MAX);
  try {
    await standin.start();
  } catch (error) {
    await standin.close();
    await closeServer(server);
    throw error;
  }
  server.on("request", (req: IncomingMessage, res: ServerResponse) => void standin.handle(req, res));
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => standin.upgrade(req, socket, head));
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    httpUrl: `http://${urlHost}:${port}/sql`,
    wsProxy: `${urlHost}:${port}`,
    connectionString: connectionStringFor(postgresUrl),
    stats: () => standin.stats(),
    resetStats: () => standin.resetStats(),
    dropNextResponse: (match) => standin.dropNextResponse(match),
    async close() {
      await standin.close();
      wss.close();
      await closeServer(server);
    },
  };
}

/**
 * The neonConfig settings that point the driver at a stand-in:
 * `Object.assign(neonConfig, neonConfigFor(standin))`. neonConfig is global to the
 * driver's module, so set it in each test file that uses a stand-in.
 */
export function neonConfigFor(standin: Pick<NeonStandin, "httpUrl" | "wsProxy">): NeonConfigSettings {
  return {
    fetchEndpoint: standin.httpUrl,
    wsProxy: (host: string, port: number | string) => `${standin.wsProxy}/v2?address=${host}:${port}`,
    useSecureWebSocket: false,
    pipelineTLS: false,
    // The default ("password") sends a password message unasked, which trust auth refuses.
    pipelineConnect: false,
    webSocketConstructor: WebSocket,
  };
}

// ---------------------------------------------------------------------------------------
// CLI

async function main(): Promise<void> {
  const postgresUrl = process.env.POSTGRES_URL ?? process.env.DATABASE_URL ?? DEFAULT_POSTGRES_URL;
  const standin = await startNeonStandin({ postgresUrl, port: Number(process.env.PORT ?? 4444) });
  const origin = standin.httpUrl.replace(/\/sql$/, "");
  console.log(`Neon proxy stand-in on ${origin} (ws ws://${standin.wsProxy}/v2) → ${redact(postgresUrl)}`);
  console.log(`  fetchEndpoint ${standin.httpUrl}, connection string ${redact(standin.connectionString)}`);
  const stop = () => void standin.close();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(resolve(entry)).href) {
  main().catch((error: unknown) => {
    console.error(errorMessage(error));
    process.exitCode = 1;
  });
}
