/**
 * What every operation of the Upstash backend needs: the official REST client, set up
 * for locks, and the names of one lock's Redis keys.
 */
import { checkBounds, type KeyBounds } from "@holdfast/shared";
import { Redis } from "@upstash/redis/cloudflare";

export interface UpstashBackendOptions {
  /** UPSTASH_REDIS_REST_URL. */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN. */
  token: string;
  /** Prefix of every Redis key and channel this backend uses (default "holdfast"). */
  prefix?: string;
  /** Deadline for one REST call, retries included (default 10 s): then NetworkTimeout. */
  timeoutMs?: number;
  /** Per-key bounds (R9); unset ones take UPSTASH_BOUNDS. */
  bounds?: Partial<KeyBounds>;
}

/**
 * Every script reads a key's holders whole (rules.lua.ts), and Redis runs nothing else
 * meanwhile: 1,000 holders keep that to about a millisecond. Waiters are indexed (a sorted
 * set and per-waiter records), so a long queue costs enqueue and handoff only a log.
 */
export const UPSTASH_BOUNDS: KeyBounds = { holders: 1_000, waiters: 10_000 };

export interface UpstashContext {
  redis: Redis;
  url: string;
  token: string;
  /** The deadline of one REST call, retries included. */
  timeoutMs: number;
  bounds: KeyBounds;
  keysOf(keyId: string): LockKeys;
}

/** One lock's keys. They share the hash tag {keyId}, so they live in one cluster slot. */
export interface LockKeys {
  /** KEYS of every script, in the order of rules.lua.ts. */
  all: string[];
  /** Where a release records that it was applied, for a re-sent request (KEYS[9]). */
  replyKey(nonce: string): string;
  /** Prefix of the waiters' pub/sub channels: a waiter listens on prefix + its token. */
  channels: string;
}

export function createContext(options: UpstashBackendOptions): UpstashContext {
  const prefix = options.prefix ?? "holdfast";
  const timeoutMs = options.timeoutMs ?? 10_000;
  const redis = new Redis({
    url: options.url,
    token: options.token,
    enableTelemetry: false,
    // Each operation is one script in one request: batching would only couple the
    // latency of unrelated locks.
    enableAutoPipelining: false,
    // Script replies are arrays of strings and integers; never JSON-parse them.
    automaticDeserialization: false,
    // Network errors are retried: every script is safe to re-send (see docs/design.md).
    retry: { retries: 3, backoff: (attempt) => 25 * 2 ** attempt },
    signal: () => AbortSignal.timeout(timeoutMs),
  });
  return {
    redis,
    url: options.url.replace(/\/$/, ""),
    token: options.token,
    timeoutMs,
    bounds: checkBounds({ ...UPSTASH_BOUNDS, ...options.bounds }),
    keysOf(keyId) {
      const base = `${prefix}:{${keyId}}`;
      return {
        all: ["r", "h", "q", "w", "c", "g", "ga", "x"].map((part) => `${base}:${part}`),
        replyKey: (nonce) => `${base}:n:${nonce}`,
        channels: `${base}:wake:`,
      };
    },
  };
}
