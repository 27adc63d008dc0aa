/**
 * A local stand-in for Upstash's hosted Redis REST service, for local development and tests.
 *
 * It is NOT a Redis emulation: every command is executed by a real Redis, reached with
 * ioredis. This file only translates the HTTP protocol that `@upstash/redis` 1.39 speaks
 * (`POST /`, `/pipeline`, `/multi-exec`, `/subscribe/<channel>`, `/psubscribe/<pattern>`,
 * base64 response encoding, `upstash-sync-token`) into Redis commands and back.
 *
 * Connections: ordinary commands share one pipelined connection; blocking commands (BLPOP
 * and friends) each get a dedicated connection from a small pool, so that they neither
 * delay other clients nor lose Redis's first-come-first-served wake-up order; all SSE
 * subscriptions share one subscriber connection.
 *
 * Run directly for local development:
 *   REDIS_URL=redis://127.0.0.1:6379 UPSTASH_STANDIN_TOKEN=dev PORT=8079 \
 *     node --import tsx local/standins/upstash-rest.ts
 */
import { timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Redis, type RedisOptions, ReplyError } from "ioredis";
import { closeServer, errorMessage, HttpError, readBody } from "./http.ts";

export interface UpstashStandinOptions {
  /** Default redis://127.0.0.1:6379. */
  redisUrl?: string;
  token: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface UpstashStandin {
  /** http://127.0.0.1:PORT */
  url: string;
  token: string;
  /** Commands executed against Redis so far (each command of a pipeline/multi-exec counts; subscribe counts 1), by upper-cased command name. */
  stats(): { commands: number; byCommand: Record<string, number> };
  resetStats(): void;
  /** Fault injection for tests: the next request whose command array satisfies `match` is executed against Redis, then its HTTP response is not sent — the socket is destroyed instead (a lost response). */
  dropNextResponse(match: (commands: unknown[][]) => boolean): void;
  /** Closes the HTTP server, SSE streams, and every Redis connection. */
  close(): Promise<void>;
}

type Command = string[];
type RouteKind = "command" | "pipeline" | "multi-exec" | "subscribe" | "psubscribe";
interface Route {
  kind: RouteKind;
  /** The channel or pattern of a (p)subscribe route. */
  target: string;
}
interface Outcome {
  status: number;
  body: unknown;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;
/**
 * Not part of Upstash's protocol: the stand-in's command counts, for benchmarks that run
 * it as a process of its own (GET reads them, POST reads and resets them).
 */
export const STATS_PATH = "/_standin/stats";
/** Idle dedicated connections kept for the next blocking command; more are opened on demand. */
const MAX_IDLE_BLOCKING = 4;
/** Beyond this many concurrently blocked requests, later ones wait (in arrival order) for a connection. */
const MAX_BLOCKING = 64;

const BLOCKING_COMMANDS = new Set([
  "BLPOP",
  "BRPOP",
  "BLMOVE",
  "BRPOPLPUSH",
  "BLMPOP",
  "BZPOPMIN",
  "BZPOPMAX",
  "BZMPOP",
  "WAIT",
  "WAITAOF",
]);

/**
 * Commands that would change the state of a shared connection (subscriber mode, selected
 * database, an open transaction, reply mode) and so break every other client of it.
 * Upstash offers transactions and pub/sub through their own routes instead.
 */
const CONNECTION_STATE_COMMANDS = new Set([
  "SUBSCRIBE",
  "PSUBSCRIBE",
  "SSUBSCRIBE",
  "UNSUBSCRIBE",
  "PUNSUBSCRIBE",
  "SUNSUBSCRIBE",
  "MONITOR",
  "SYNC",
  "PSYNC",
  "SELECT",
  "MULTI",
  "EXEC",
  "DISCARD",
  "WATCH",
  "UNWATCH",
  "QUIT",
  "RESET",
  "HELLO",
  "AUTH",
]);

/** Redis could not be reached (refused, lost, not yet reconnected): answered 503. */
class UnavailableError extends Error {}

function isReplyError(error: unknown): error is Error {
  return error instanceof ReplyError;
}

/** The Redis URL for messages, without its password. */
function redact(redisUrl: string): string {
  try {
    const url = new URL(redisUrl);
    if (!url.password) return redisUrl;
    url.password = "***";
    return url.toString();
  } catch {
    return redisUrl;
  }
}

// ---------------------------------------------------------------------------------------
// Request parsing

function parseRoute(req: IncomingMessage): Route | undefined {
  if (req.method !== "POST") return undefined;
  const path = new URL(req.url ?? "/", "http://standin").pathname;
  if (path === "/") return { kind: "command", target: "" };
  if (path === "/pipeline") return { kind: "pipeline", target: "" };
  if (path === "/multi-exec") return { kind: "multi-exec", target: "" };
  // The client joins the channel into the path unescaped, so a channel may contain "/":
  // everything after the route name is the channel.
  const stream = /^\/(subscribe|psubscribe)\/(.+)$/.exec(path);
  if (stream?.[1] && stream[2]) {
    let target: string;
    try {
      target = decodeURIComponent(stream[2]);
    } catch {
      throw new HttpError(400, "ERR malformed channel in the path");
    }
    return { kind: stream[1] as "subscribe" | "psubscribe", target };
  }
  return undefined;
}

function authorized(req: IncomingMessage, token: string): boolean {
  const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "");
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1]);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `ERR failed to parse request body as JSON: ${errorMessage(error)}`);
  }
}

/** One command: a non-empty array of strings, numbers (sent as decimal text) or booleans. */
function toCommand(value: unknown): Command {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, "ERR a command must be a non-empty JSON array");
  }
  return value.map((arg) => {
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new HttpError(400, `ERR command arguments must be strings or numbers, got ${JSON.stringify(arg)}`);
  });
}

function toCommands(kind: RouteKind, body: unknown): Command[] {
  if (kind === "command") return [toCommand(body)];
  if (!Array.isArray(body) || body.length === 0) {
    throw new HttpError(400, `ERR ${kind} body must be a non-empty JSON array of commands`);
  }
  return body.map(toCommand);
}

function commandName(command: Command): string {
  return (command[0] ?? "").toUpperCase();
}

function isBlocking(command: Command): boolean {
  const name = commandName(command);
  if (BLOCKING_COMMANDS.has(name)) return true;
  if (name !== "XREAD" && name !== "XREADGROUP") return false;
  // BLOCK is an option only before STREAMS; after it come key names, which may be "block".
  for (const arg of command.slice(1)) {
    const upper = arg.toUpperCase();
    if (upper === "STREAMS") return false;
    if (upper === "BLOCK") return true;
  }
  return false;
}

function rejectConnectionStateCommands(commands: Command[]): void {
  for (const command of commands) {
    const name = commandName(command);
    if (CONNECTION_STATE_COMMANDS.has(name) || (name === "CLIENT" && command[1]?.toUpperCase() === "REPLY")) {
      throw new HttpError(400, `ERR command not supported over REST: ${name}`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Reply encoding

/**
 * Upstash's `Upstash-Encoding: base64`: every string, recursively, is base64 of its raw
 * bytes; integers and nil pass through. Upstash documents one exception, a top-level "OK",
 * which stays plain: the client accepts it either way at the top level, but would misread
 * a plain "OK" inside an array, so nested ones are encoded.
 */
function encodeReply(reply: unknown, base64: boolean, topLevel = true): unknown {
  if (Buffer.isBuffer(reply)) {
    if (!base64) return reply.toString("utf8");
    return topLevel && reply.equals(OK) ? "OK" : reply.toString("base64");
  }
  if (Array.isArray(reply)) return reply.map((item) => encodeReply(item, base64, false));
  // An error nested in an array (a Lua table holding {err=...}) has no JSON form of its own.
  if (reply instanceof Error) return encodeReply(Buffer.from(reply.message), base64, false);
  return reply ?? null;
}
const OK = Buffer.from("OK");

function settledToEntry(settled: PromiseSettledResult<unknown>, base64: boolean): { result?: unknown; error?: string } {
  if (settled.status === "fulfilled") return { result: encodeReply(settled.value, base64) };
  return { error: errorMessage(settled.reason) };
}

/** A failure that is not a Redis error reply means Redis is unreachable: the whole request is 503. */
function throwIfUnavailable(results: PromiseSettledResult<unknown>[]): void {
  for (const settled of results) {
    if (settled.status === "rejected" && !isReplyError(settled.reason)) {
      throw new UnavailableError(errorMessage(settled.reason));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Redis connections

interface Connections {
  redisUrl: string;
  name: string;
}

/**
 * Commands fail at once instead of queueing while Redis is away (no offline queue, no
 * retries), and a command whose reply was lost with the connection is never re-sent on
 * reconnect: it may already have run, and re-running INCR or an acquire is not harmless.
 */
function connectionOptions(name: string, reconnect: boolean): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectionName: name,
    connectTimeout: 5_000,
    // Short-lived connections do not reconnect: a broken one is simply replaced.
    retryStrategy: reconnect ? (attempt: number) => Math.min(attempt * 50, 500) : () => null,
  };
}

interface TrackedRedis {
  redis: Redis;
  /** The last connection error, for messages better than ioredis's "Connection is closed." */
  lastError(): Error | undefined;
}

function createRedis(
  config: Connections,
  role: string,
  reconnect: boolean,
  extra: Partial<RedisOptions> = {},
): TrackedRedis {
  const redis = new Redis(config.redisUrl, { ...connectionOptions(`${config.name}:${role}`, reconnect), ...extra });
  let last: Error | undefined;
  // Without a listener ioredis prints every reconnect failure as an unhandled error.
  redis.on("error", (error: Error) => {
    last = error;
  });
  redis.on("ready", () => {
    last = undefined;
  });
  return { redis, lastError: () => last };
}

async function connect(tracked: TrackedRedis, redisUrl: string): Promise<void> {
  try {
    await tracked.redis.connect();
  } catch (error) {
    tracked.redis.disconnect();
    const cause = tracked.lastError() ?? error;
    throw new UnavailableError(`cannot reach Redis at ${redact(redisUrl)}: ${errorMessage(cause)}`);
  }
}

/** Sends each command now, in order, on one connection; ioredis pipelines them on the socket. */
function sendAll(redis: Redis, commands: Command[]): Promise<unknown>[] {
  return commands.map(([name = "", ...args]) => redis.callBuffer(name.toUpperCase(), ...args));
}

/** MULTI/EXEC, written as one block: atomic even on the shared connection. */
async function sendTransaction(redis: Redis, commands: Command[], base64: boolean): Promise<Outcome> {
  const transaction = redis.multi();
  for (const [name = "", ...args] of commands) transaction.callBuffer(name.toUpperCase(), ...args);
  let results: [Error | null, unknown][] | null;
  try {
    results = await transaction.exec();
  } catch (error) {
    if (!isReplyError(error)) throw new UnavailableError(errorMessage(error));
    // EXECABORT: a command was refused while queueing, so nothing ran. Name the cause.
    const causes = (error as { previousErrors?: Error[] }).previousErrors ?? [];
    const detail = causes.map((cause) => cause.message).join("; ");
    return { status: 400, body: { error: detail ? `${error.message} ${detail}` : error.message } };
  }
  if (results === null) return { status: 400, body: { error: "EXECABORT transaction aborted" } };
  const settled = results.map(([error, value]): PromiseSettledResult<unknown> => {
    return error ? { status: "rejected", reason: error } : { status: "fulfilled", value };
  });
  throwIfUnavailable(settled);
  return { status: 200, body: settled.map((entry) => settledToEntry(entry, base64)) };
}

async function sendCommands(redis: Redis, kind: RouteKind, commands: Command[], base64: boolean): Promise<Outcome> {
  if (kind === "multi-exec") return sendTransaction(redis, commands, base64);
  const settled = await Promise.allSettled(sendAll(redis, commands));
  throwIfUnavailable(settled);
  if (kind === "pipeline") return { status: 200, body: settled.map((entry) => settledToEntry(entry, base64)) };
  const [only] = settled;
  if (only?.status === "rejected") return { status: 400, body: { error: errorMessage(only.reason) } };
  return { status: 200, body: { result: encodeReply(only?.value, base64) } };
}

interface BlockingConnection {
  tracked: TrackedRedis;
  /** CLIENT ID, to unblock the connection when its HTTP client goes away. */
  id: string;
  /** An UNBLOCK was sent for it: never reuse it, lest that UNBLOCK land on the next request's command. */
  cancelled: boolean;
}

/**
 * Dedicated connections for blocking commands. Taking a connection and writing the
 * commands to it happen one request at a time, in arrival order, so that Redis sees the
 * blocked clients in the order their HTTP requests came in and wakes them in that order.
 */
class BlockingPool {
  private idle: BlockingConnection[] = [];
  private readonly busy = new Set<BlockingConnection>();
  private readonly waiting: (() => void)[] = [];
  private gate: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly config: Connections) {}

  /**
   * Runs `send` on a connection of its own. `watch` may cancel the block while it is
   * pending; the function it returns is called once the commands are done.
   */
  async run<T>(send: (redis: Redis) => Promise<T>, watch: (connection: BlockingConnection) => () => void): Promise<T> {
    const turn = this.gate.then(async () => {
      const connection = await this.take();
      const unwatch = watch(connection);
      const pending = send(connection.tracked.redis);
      // Awaited below; this only keeps a fast rejection from being reported as unhandled.
      pending.catch(() => undefined);
      return { connection, unwatch, pending };
    });
    // The next request waits until these commands are written, not until they return.
    this.gate = turn.catch(() => undefined);
    const { connection, unwatch, pending } = await turn;
    try {
      return await pending;
    } finally {
      unwatch();
      this.give(connection);
    }
  }

  private async take(): Promise<BlockingConnection> {
    while (this.busy.size >= MAX_BLOCKING) await new Promise<void>((wake) => this.waiting.push(wake));
    let connection = this.idle.pop();
    while (connection && connection.tracked.redis.status !== "ready") {
      connection.tracked.redis.disconnect();
      connection = this.idle.pop();
    }
    connection ??= await this.open();
    this.busy.add(connection);
    return connection;
  }

  private async open(): Promise<BlockingConnection> {
    const tracked = createRedis(this.config, "blocking", false);
    await connect(tracked, this.config.redisUrl);
    try {
      const id = String(await tracked.redis.call("CLIENT", "ID"));
      return { tracked, id, cancelled: false };
    } catch (error) {
      tracked.redis.disconnect();
      throw new UnavailableError(errorMessage(error));
    }
  }

  private give(connection: BlockingConnection): void {
    this.busy.delete(connection);
    this.waiting.shift()?.();
    const reusable = !this.closed && !connection.cancelled && connection.tracked.redis.status === "ready";
    if (reusable && this.idle.length < MAX_IDLE_BLOCKING) this.idle.push(connection);
    else connection.tracked.redis.disconnect();
  }

  close(): void {
    this.closed = true;
    for (const connection of [...this.idle, ...this.busy]) connection.tracked.redis.disconnect();
    this.idle = [];
  }
}

/**
 * One subscriber connection for every stream. A channel (or pattern) is subscribed while
 * some stream listens to it; Redis sends each message once and the hub fans it out.
 * Opening a connection per stream cost a TCP handshake and a SUBSCRIBE on the critical
 * path of every wait, and every Redis message was parsed once per stream.
 * When the connection drops, messages published meanwhile are lost, so every stream is
 * ended (its client resubscribes and asks again) rather than silently resubscribed.
 */
class SubscriberHub {
  private readonly tracked: TrackedRedis;
  private readonly tables = { subscribe: new Map<string, Topic>(), psubscribe: new Map<string, Topic>() };

  constructor(private readonly config: Connections) {
    this.tracked = createRedis(config, "subscriber", true, { autoResubscribe: false });
    this.tracked.redis.on("message", (channel: string, message: string) => {
      for (const listener of this.tables.subscribe.get(channel)?.listeners ?? []) {
        listener.write(`message,${channel},${message}`);
      }
    });
    this.tracked.redis.on("pmessage", (pattern: string, channel: string, message: string) => {
      for (const listener of this.tables.psubscribe.get(pattern)?.listeners ?? []) {
        listener.write(`pmessage,${pattern},${channel},${message}`);
      }
    });
    this.tracked.redis.on("close", () => this.dropAll());
  }

  start(): Promise<void> {
    return connect(this.tracked, this.config.redisUrl);
  }

  /** Resolves once Redis has confirmed the subscription, with a function that ends it. */
  async listen(
    kind: "subscribe" | "psubscribe",
    target: string,
    listener: Listener,
  ): Promise<{ count: number; leave: () => void }> {
    const { redis, lastError } = this.tracked;
    if (redis.status !== "ready") throw new UnavailableError(lastError()?.message ?? `connection ${redis.status}`);
    const table = this.tables[kind];
    let topic = table.get(target);
    if (!topic) {
      const subscribed = kind === "subscribe" ? redis.subscribe(target) : redis.psubscribe(target);
      topic = { listeners: new Set(), subscribed };
      table.set(target, topic);
    }
    const current = topic;
    current.listeners.add(listener);
    const leave = () => {
      current.listeners.delete(listener);
      if (current.listeners.size > 0 || table.get(target) !== current) return;
      // Commands on one connection run in order: a later SUBSCRIBE of this target follows.
      table.delete(target);
      if (redis.status !== "ready") return;
      const ended = kind === "subscribe" ? redis.unsubscribe(target) : redis.punsubscribe(target);
      ended.catch(() => undefined);
    };
    try {
      return { count: Number(await current.subscribed), leave };
    } catch (error) {
      leave();
      throw error;
    }
  }

  private dropAll(): void {
    for (const table of Object.values(this.tables)) {
      const topics = [...table.values()];
      table.clear();
      for (const topic of topics) for (const listener of topic.listeners) listener.lost();
    }
  }

  close(): void {
    this.tracked.redis.disconnect();
  }
}

interface Listener {
  write(line: string): void;
  /** The subscription is gone (the connection dropped): end the stream. */
  lost(): void;
}

interface Topic {
  listeners: Set<Listener>;
  subscribed: Promise<unknown>;
}

// ---------------------------------------------------------------------------------------
// The server

interface Stats {
  commands: number;
  byCommand: Record<string, number>;
}

class Standin {
  private readonly main: TrackedRedis;
  private readonly pool: BlockingPool;
  private readonly hub: SubscriberHub;
  private readonly streams = new Set<ServerResponse>();
  private drops: ((commands: unknown[][]) => boolean)[] = [];
  private stats: Stats = { commands: 0, byCommand: {} };
  private syncToken = 0;

  constructor(
    private readonly config: Connections,
    private readonly token: string,
  ) {
    // The shared connection keeps reconnecting in the background, so the stand-in recovers.
    this.main = createRedis(config, "main", true);
    this.pool = new BlockingPool(config);
    this.hub = new SubscriberHub(config);
  }

  async start(): Promise<void> {
    await connect(this.main, this.config.redisUrl);
    await this.hub.start();
  }

  getStats(): Stats {
    return { commands: this.stats.commands, byCommand: { ...this.stats.byCommand } };
  }

  resetStats(): void {
    this.stats = { commands: 0, byCommand: {} };
  }

  dropNextResponse(match: (commands: unknown[][]) => boolean): void {
    this.drops.push(match);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.route(req, res);
    } catch (error) {
      this.sendError(res, error);
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!authorized(req, this.token)) {
      req.resume();
      return this.sendJson(res, 401, { error: "Unauthorized" });
    }
    if (req.url?.startsWith(STATS_PATH)) {
      req.resume();
      if (req.method === "POST") this.resetStats();
      return this.sendJson(res, 200, this.getStats());
    }
    const route = parseRoute(req);
    if (!route) {
      req.resume();
      return this.sendJson(res, 404, { error: `ERR no such route: ${req.method} ${req.url}` });
    }
    if (route.kind === "subscribe" || route.kind === "psubscribe") {
      req.resume();
      return this.stream(route, res);
    }
    const commands = toCommands(
      route.kind,
      parseJson(await readBody(req, MAX_BODY_BYTES, "ERR request body too large")),
    );
    rejectConnectionStateCommands(commands);
    const drop = this.claimDrop(commands);
    const base64 = req.headers["upstash-encoding"]?.toString().toLowerCase() === "base64";
    const outcome = await this.execute(route.kind, commands, base64, res);
    if (drop) {
      res.socket?.destroy();
      return;
    }
    this.sendJson(res, outcome.status, outcome.body);
  }

  /** The matcher is consumed when the request arrives, so exactly one request is dropped. */
  private claimDrop(commands: unknown[][]): boolean {
    const index = this.drops.findIndex((match) => match(commands));
    if (index < 0) return false;
    this.drops.splice(index, 1);
    return true;
  }

  private count(commands: Command[]): void {
    for (const command of commands) {
      const name = commandName(command);
      this.stats.commands += 1;
      this.stats.byCommand[name] = (this.stats.byCommand[name] ?? 0) + 1;
    }
  }

  private async execute(kind: RouteKind, commands: Command[], base64: boolean, res: ServerResponse): Promise<Outcome> {
    if (!commands.some(isBlocking)) {
      this.ensureMainReady();
      this.count(commands);
      return sendCommands(this.main.redis, kind, commands, base64);
    }
    return this.pool.run(
      (redis) => {
        // Gone while waiting for its turn: blocking for nobody would only steal a wake-up.
        if (res.destroyed) return Promise.reject(new HttpError(499, "ERR client went away"));
        this.count(commands);
        return sendCommands(redis, kind, commands, base64);
      },
      (connection) => this.unblockWhenAbandoned(connection, res),
    );
  }

  /**
   * A client that gave up (timed out, aborted) must not stay blocked in Redis: it would
   * take the next pushed element, or wake-up turn, from a client still waiting.
   */
  private unblockWhenAbandoned(connection: BlockingConnection, res: ServerResponse): () => void {
    const onClose = () => {
      connection.cancelled = true;
      if (this.main.redis.status !== "ready") return;
      this.main.redis.call("CLIENT", "UNBLOCK", connection.id).catch(() => undefined);
    };
    res.once("close", onClose);
    return () => res.off("close", onClose);
  }

  /** Answer 503 at once while the shared connection is down, instead of queueing. */
  private ensureMainReady(): void {
    const { redis, lastError } = this.main;
    if (redis.status !== "ready") throw new UnavailableError(lastError()?.message ?? `connection ${redis.status}`);
  }

  /** Server-sent events from the shared subscriber connection, in the format Subscriber.handleMessage parses. */
  private async stream(route: Route, res: ServerResponse): Promise<void> {
    this.streams.add(res);
    let leave: (() => void) | undefined;
    res.once("close", () => {
      this.streams.delete(res);
      leave?.();
    });
    // Message text goes out raw, not base64: the client parses it as it arrives.
    const write = (line: string) => {
      if (res.headersSent && !res.writableEnded) res.write(`data: ${line}\n\n`);
    };
    this.count([[route.kind, route.target]]);
    try {
      const kind = route.kind === "psubscribe" ? "psubscribe" : "subscribe";
      const lost = () => {
        if (res.headersSent) res.end();
        else res.destroy();
      };
      const subscription = await this.hub.listen(kind, route.target, { write, lost });
      leave = subscription.leave;
      if (res.destroyed) return leave();
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
        "upstash-sync-token": this.nextSyncToken(),
      });
      res.write(`data: ${route.kind},${route.target},${subscription.count}\n\n`);
      if (this.claimDrop([[route.kind, route.target]])) res.socket?.destroy();
    } catch (error) {
      this.streams.delete(res);
      throw isReplyError(error) || error instanceof UnavailableError
        ? error
        : new UnavailableError(errorMessage(error));
    }
  }

  private nextSyncToken(): string {
    this.syncToken += 1;
    return String(this.syncToken);
  }

  private sendJson(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      "upstash-sync-token": this.nextSyncToken(),
    });
    res.end(text);
  }

  private sendError(res: ServerResponse, error: unknown): void {
    const [status, message] = describeError(error);
    this.sendJson(res, status, { error: message });
  }

  close(): void {
    for (const response of this.streams) {
      // A stream not yet confirmed has no headers out: cut it rather than answer an empty 200.
      if (response.headersSent) response.end();
      else response.destroy();
    }
    this.streams.clear();
    this.hub.close();
    this.pool.close();
    this.main.redis.disconnect();
  }
}

function describeError(error: unknown): [status: number, message: string] {
  if (error instanceof HttpError) return [error.status, error.message];
  if (isReplyError(error)) return [400, error.message];
  if (error instanceof UnavailableError) return [503, `ERR redis unavailable: ${error.message}`];
  return [500, `ERR stand-in failure: ${errorMessage(error)}`];
}

export async function startUpstashStandin(options: UpstashStandinOptions): Promise<UpstashStandin> {
  const redisUrl = options.redisUrl ?? "redis://127.0.0.1:6379";
  const host = options.host ?? "127.0.0.1";
  const server = createServer();
  server.listen(options.port ?? 0, host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  // The port in the connection names tells this stand-in's connections apart in CLIENT LIST.
  const standin = new Standin({ redisUrl, name: `upstash-standin:${port}` }, options.token);
  try {
    await standin.start();
  } catch (error) {
    standin.close();
    await closeServer(server);
    throw new Error(`Upstash REST stand-in: ${errorMessage(error)}`);
  }
  server.on("request", (req: IncomingMessage, res: ServerResponse) => void standin.handle(req, res));
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    token: options.token,
    stats: () => standin.getStats(),
    resetStats: () => standin.resetStats(),
    dropNextResponse: (match) => standin.dropNextResponse(match),
    async close() {
      standin.close();
      await closeServer(server);
    },
  };
}

// ---------------------------------------------------------------------------------------
// CLI

async function main(): Promise<void> {
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const standin = await startUpstashStandin({
    redisUrl,
    token: process.env.UPSTASH_STANDIN_TOKEN ?? "dev",
    port: Number(process.env.PORT ?? 8079),
  });
  console.log(`Upstash REST stand-in on ${standin.url} → ${redact(redisUrl)}`);
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
