/** The lock model of SPEC §2, as stored per key by every backend. */

export type Mode = "exclusive" | "shared";

/** One live grant on a key. `token` is the secret half of the lockId. */
export interface Holder {
  token: string;
  mode: Mode;
  permits: number;
  fence: number;
  acquiredAtMs: number;
  expiresAtMs: number;
  idempotencyKey?: string;
  /**
   * With an idempotency key: the TTL the grant was asked for, so that a retry is the same
   * request only with the same TTL (rule 3). Absent on holders stored before it was kept.
   */
  ttlMs?: number;
}

/**
 * Everything a store keeps for one (tenant, key): the fence counter, which is never
 * reset, the limit agreed by the current shared holders, and the holders.
 */
export interface KeyState {
  tenant: string;
  key: string;
  /** The last fence issued on this key; 0 before the first grant. */
  fence: number;
  /** The semaphore limit while the key has shared holders; null for an unlimited read lock. */
  limit: number | null;
  holders: Holder[];
}

/** A validated acquire, namespaced and ready for the store. */
export interface AcquireRequest {
  tenant: string;
  key: string;
  keyId: string;
  /** The fresh secret for this grant; a retried idempotent request gets the original one back. */
  token: string;
  ttlMs: number;
  mode: Mode;
  permits: number;
  /** Only for shared mode: null means an unlimited read lock. */
  limit: number | null;
  idempotencyKey?: string;
  /** Queued waiting: higher first, FIFO within a priority (default 0). */
  priority?: number;
}

/** A key, named: its tenant, its name and the id of its record (keys.ts keyIdOf). */
export interface KeyRef {
  tenant: string;
  key: string;
  keyId: string;
}

/** A lockId, parsed: the key's id and the grant's secret. */
export interface LockRef {
  tenant: string;
  keyId: string;
  token: string;
}

export interface Grant {
  ok: true;
  token: string;
  fence: number;
  acquiredAtMs: number;
  expiresAtMs: number;
  serverTimeMs: number;
}

export type AcquireResult =
  | Grant
  | {
      ok: false;
      reason: "locked";
      serverTimeMs: number;
      /** Store time at which a blocking holder expires: the earliest moment worth retrying. */
      retryAtMs: number;
    }
  | { ok: false; reason: "limit-mismatch"; limit: number | null; serverTimeMs: number }
  | CapacityResult
  | { ok: false; reason: "idempotency-mismatch"; serverTimeMs: number };

/**
 * Refused because the key is at one of its bounds (rule R9); nothing changed. With
 * `retryAtMs`, the store time at which room may be made (a holder's expiry).
 */
export interface CapacityResult {
  ok: false;
  reason: "capacity";
  /** holders, waiters: the key's bounds; callers: the retries joined to one queued request. */
  bound: "holders" | "waiters" | "callers";
  max: number;
  serverTimeMs: number;
  retryAtMs?: number;
}

export type ReleaseResult = { ok: boolean; serverTimeMs: number };

export type ExtendResult =
  | { ok: true; expiresAtMs: number; serverTimeMs: number }
  | { ok: false; serverTimeMs: number };

export interface HolderView {
  token: string;
  mode: Mode;
  permits: number;
  fence: number;
  acquiredAtMs: number;
  expiresAtMs: number;
}

export type OwnsResult =
  | { owned: true; key: string; holder: HolderView; serverTimeMs: number }
  | { owned: false; serverTimeMs: number };

export interface LookupResult {
  /** The last fence issued on the key (0 if never granted). */
  fence: number;
  limit: number | null;
  holders: HolderView[];
  serverTimeMs: number;
}

/** What a store with its own queue says when asked: a final result, or a place in its queue. */
export type QueueStatus =
  | { queued: false; result: AcquireResult }
  | { queued: true; serverTimeMs: number; retryAtMs: number; rank: number };

export type Queued = Extract<QueueStatus, { queued: true }>;
