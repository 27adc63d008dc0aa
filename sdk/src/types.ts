/** The SDK's public types. Times are ms since the epoch in the caller's clock unless named otherwise. */
import type { ClockEstimate } from "./clock.ts";
import type { LockErrorCode } from "./errors.ts";

export type Mode = "exclusive" | "shared";

export interface ClientOptions {
  /** The service's base URL, e.g. "https://locks.example.com". */
  url: string;
  /**
   * A bearer token, or `getToken` to fetch one: a browser token (JWT) is kept until shortly
   * before it expires, any other token is fetched for every request. A call that takes
   * longer than `timeoutMs` fails the request (AuthFailed). When the user changes (log
   * out, switch account), make a new client: a kept token stays until its expiry.
   */
  token?: string;
  getToken?: () => string | Promise<string>;
  /** A fetch to use instead of the global one (tests, proxies, custom agents). */
  fetch?: typeof fetch;
  /** Deadline for one request, excluding the time the server is asked to wait (default 15000). */
  timeoutMs?: number;
  /**
   * Which clock decides expiry. "server" (the default): the store's own clock. "client":
   * an instance clock, as in client-time deployments; then the SDK checks its offset
   * estimate before every acquire and reacts per `onClockSkew`.
   */
  timeAuthority?: "server" | "client";
  /** Largest acceptable clock offset bound with `timeAuthority: "client"` (default 1000). */
  clockToleranceMs?: number;
  /** "warn" (default: console.warn once, plus a "clock-skew" event) or "throw" (acquire fails). */
  onClockSkew?: "warn" | "throw";
  /** How long before the proven lease end `lock.signal` fires (default: 10 % of the TTL, at most 1 s). */
  safetyMarginMs?: number;
  /** Telemetry. Keys and lockIds are left out unless `includeRaw` is true. */
  onEvent?: (event: LockEvent) => void;
  includeRaw?: boolean;
  /** Where `await using` disposal and createLock report failed releases (default console.error). */
  onReleaseError?: (error: unknown, context: { lockId: string; key: string }) => void;
}

export interface RetryOptions {
  /** Attempts after the first one that came back "locked" (default 10 for createLock, unbounded for acquire). */
  maxRetries?: number;
  /** Base delay between attempts (default 100). */
  retryDelayMs?: number;
  /** "exponential" (default: the delay doubles per attempt) or "fixed". */
  backoff?: "exponential" | "fixed";
  /** "equal" (default: half fixed, half random), "full" (0..delay) or "none". */
  jitter?: "equal" | "full" | "none";
}

export interface AcquireOptions {
  key: string;
  /** Lease length (default 30000; the server accepts 100..86400000). */
  ttlMs?: number;
  /** "exclusive" (default) or "shared"; `limit` or `permits` alone imply "shared". */
  mode?: Mode;
  /** Shared mode: permits taken by this grant (default 1). */
  permits?: number;
  /** Shared mode: the semaphore's limit; omit for an unlimited read lock. */
  limit?: number;
  /**
   * How long to wait for the key (default 0: try once). The server holds the request
   * and answers the moment the key frees up; the SDK re-issues when the server's cap
   * ends first and backs off (`retry`) when the server answers at once.
   */
  waitMs?: number;
  retry?: RetryOptions;
  /** Retrying with the same key returns the same grant. Default: a random key per call. */
  idempotencyKey?: string;
  /** Extend the lease at a third of its TTL until released. */
  autoExtend?: boolean;
  /** Aborts the acquisition (the in-flight request and any backoff). */
  signal?: AbortSignal;
}

export interface Lock extends AsyncDisposable {
  readonly ok: true;
  readonly key: string;
  readonly lockId: string;
  /** Strictly increasing per key: pass it to the resource you protect. */
  readonly fence: string;
  readonly mode: Mode;
  /** When the server expires the lease, in the caller's clock (offset estimate applied). */
  readonly expiresAtMs: number;
  /**
   * Aborts the moment the lease is lost (an extend found it gone), can no longer be
   * proven (its safe deadline passed without a successful extend), or is released.
   * The reason is a LockError with code "Aborted".
   */
  readonly signal: AbortSignal;
  /** Sets the lease to `ttlMs` from now (default: the current TTL). `ok: false` means lost. */
  extend(ttlMs?: number, options?: { signal?: AbortSignal }): Promise<ExtendResult>;
  /**
   * Releases the lease. The call that releases it answers `{ ok: true }` (or `{ ok: false }`
   * when the lease was already gone); every later call answers `{ ok: false }` without a
   * request. A release that threw may be retried. Never reuses an aborted acquisition signal.
   */
  release(options?: { signal?: AbortSignal }): Promise<ReleaseResult>;
}

/**
 * The key is held by someone else. `release()` and `extend()` answer `{ ok: false }` and
 * `await using` does nothing, so code that skips the `ok` check does not throw.
 */
export interface NotAcquired extends AsyncDisposable {
  readonly ok: false;
  readonly reason: "locked";
  release(options?: { signal?: AbortSignal }): Promise<{ ok: false }>;
  extend(ttlMs?: number, options?: { signal?: AbortSignal }): Promise<{ ok: false }>;
}

/** Narrow on `ok`: a Lock when granted, NotAcquired when the key is held. */
export type AcquireResult = Lock | NotAcquired;

export type ReleaseResult = { ok: true } | { ok: false };
export type ExtendResult = { ok: true; expiresAtMs: number } | { ok: false };

export type OwnsResult =
  | { owned: false }
  | { owned: true; key: string; mode: Mode; permits: number; fence: string; expiresAtMs: number };

export interface Holder {
  mode: Mode;
  permits: number;
  fence: string;
  acquiredAtMs: number;
  expiresAtMs: number;
  /** Only for tokens with the admin scope. */
  lockId?: string;
}

export interface LockInfo {
  locked: boolean;
  /** The live holders, oldest first: at most 100 (`holderCount` counts them all). */
  holders: Holder[];
  holderCount: number;
  /** The last fence issued on the key; null if it was never granted. */
  fence: string | null;
  /** When the last live holder expires; null when not locked. */
  expiresAtMs: number | null;
  limit: number | null;
}

export interface LockEvent {
  type: "acquire" | "extend" | "release" | "lost" | "clock-skew";
  ok: boolean;
  /** lost: "not-held" or "deadline"; failures: the LockError code. */
  reason?: "not-held" | "deadline" | LockErrorCode;
  fence?: string;
  clock?: ClockEstimate;
  key?: string;
  lockId?: string;
}

export interface Client {
  acquire(options: AcquireOptions): Promise<AcquireResult>;
  release(options: { lockId: string; signal?: AbortSignal }): Promise<ReleaseResult>;
  extend(options: { lockId: string; ttlMs: number; signal?: AbortSignal }): Promise<ExtendResult>;
  owns(options: { lockId: string; signal?: AbortSignal }): Promise<OwnsResult>;
  getByKey(options: { key: string; signal?: AbortSignal }): Promise<LockInfo>;
  /** Read-write lock on `key`: many readers (shared) or one writer (exclusive). */
  readWrite(key: string): {
    read(options?: Omit<AcquireOptions, "key" | "mode" | "permits" | "limit">): Promise<AcquireResult>;
    write(options?: Omit<AcquireOptions, "key" | "mode" | "permits" | "limit">): Promise<AcquireResult>;
  };
  /** The current offset estimate (undefined before the first answer). */
  clock(): ClockEstimate | undefined;
  /** Takes one clock sample from GET /v1/time and returns the estimate. */
  syncClock(options?: { signal?: AbortSignal }): Promise<ClockEstimate>;
}

export interface CampaignOptions {
  ttlMs?: number;
  /** Called on every election; `term` is the grant's fence, so terms strictly increase. */
  onElected: (term: string, lock: Lock) => void | Promise<void>;
  /** Called when leadership ends, with why: the lease's loss, or the campaign's abort reason (resigned: an AbortError). */
  onDemoted?: (reason: unknown) => void | Promise<void>;
  /** Resigns when aborted. */
  signal?: AbortSignal;
  /** Failed attempts and throwing callbacks (default console.error); campaigning goes on. */
  onError?: (error: unknown) => void;
}

export interface Campaign {
  /** The lock while this campaign leads. */
  readonly leader: Lock | undefined;
  /** Stops campaigning and releases leadership; resolves when done. */
  resign(): Promise<void>;
}
