/**
 * What every operation of the Neon backend needs: the official serverless driver's HTTP
 * query function (one statement, one round trip), the configured names, and a runner
 * that bounds each statement in time and maps its failures (errors.ts).
 */
import { checkBounds, type KeyBounds } from "@holdfast/shared";
import { type NeonQueryFunction, neon, neonConfig } from "@neondatabase/serverless";
import { toLockError } from "./errors.ts";
import { type Listen, perWaiterListen, sharedListen } from "./listen.ts";
import { namesFor, type SchemaNames } from "./schema/names.ts";

export interface NeonBackendOptions {
  /** DATABASE_URL: the Neon connection string. */
  connectionString: string;
  /** Prefix of Holdfast's tables and functions (default "holdfast_"); see schema/names.ts. */
  prefix?: string;
  /** Deadline for one statement (default 10 s): then NetworkTimeout. */
  timeoutMs?: number;
  /**
   * For the local stand-in of Neon's proxy (local/standins/neon-proxy.ts): speak plain
   * HTTP and WebSocket to the connection string's own host and port.
   */
  localProxy?: boolean;
  /**
   * How waiters hear their handoff (listen.ts): "shared" (the default), one listening
   * connection for every waiter of this backend; "per-waiter", a connection each; or a
   * Listen of the caller's.
   */
  waiting?: "shared" | "per-waiter" | Listen;
  /** Node before 22 has no global WebSocket: pass the `ws` package's (Workers have one). */
  webSocketConstructor?: typeof neonConfig.webSocketConstructor;
  /** Per-key bounds (rule 9); unset ones take NEON_BOUNDS. */
  bounds?: Partial<KeyBounds>;
}

/**
 * A key's holders are a jsonb array in its row (functions.sql.ts), copied and scanned by
 * every step under the row lock: 500 keep a release that grants a holder to each of 500
 * compatible waiters (O(holders²) jsonb) well inside the statement deadline. Its queue is
 * an indexed table (migration 3): queueing, leaving and serving the head cost O(log n)
 * index steps, measured flat from 10 to 10,000 waiters (docs/benchmarks.md, "Queue
 * size"), so 10,000 waiters, like Upstash's and Durable Objects'. The longest step left
 * is a statement that finds the head's callers all gone past their deadlines and drops
 * such waiters one after another: a few index steps each, well under a second for 10,000.
 */
export const NEON_BOUNDS: KeyBounds = { holders: 500, waiters: 10_000 };

export interface NeonContext {
  connectionString: string;
  names: SchemaNames;
  bounds: KeyBounds;
  /** Subscribes a waiter to its channel. */
  listen: Listen;
  /** Runs one statement and returns its first row's `r` column (a jsonb reply). */
  call(text: string, params: unknown[]): Promise<Record<string, unknown>>;
}

export function createContext(options: NeonBackendOptions): NeonContext {
  if (options.localProxy) pointAtLocalProxy();
  if (options.webSocketConstructor) neonConfig.webSocketConstructor = options.webSocketConstructor;
  const sql: NeonQueryFunction<false, false> = neon(options.connectionString);
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    connectionString: options.connectionString,
    names: namesFor(options.prefix),
    bounds: checkBounds({ ...NEON_BOUNDS, ...options.bounds }),
    listen: listenFor(options),
    async call(text, params) {
      try {
        const rows = await sql.query(text, params, { fetchOptions: { signal: AbortSignal.timeout(timeoutMs) } });
        const reply = (rows[0] as { r?: unknown } | undefined)?.r;
        if (typeof reply !== "object" || reply === null) throw new Error("statement answered no reply");
        return reply as Record<string, unknown>;
      } catch (error) {
        throw toLockError(error);
      }
    },
  };
}

function listenFor({ waiting = "shared", connectionString }: NeonBackendOptions): Listen {
  if (typeof waiting === "function") return waiting;
  return waiting === "shared" ? sharedListen(connectionString) : perWaiterListen(connectionString);
}

/**
 * The driver's endpoints are process-wide settings. A local stand-in listens on the host
 * and port of the connection string itself, for SQL over HTTP and for WebSockets alike.
 */
export function pointAtLocalProxy(): void {
  neonConfig.fetchEndpoint = (host, port) => `http://${host}:${port}/sql`;
  neonConfig.wsProxy = (host, port) => `${host}:${port}/v2?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
}
