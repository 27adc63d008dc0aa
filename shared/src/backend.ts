/**
 * The one interface every store implements. Each method is a single atomic operation
 * in the store (one round trip where the store allows it), decided by the store's
 * own clock. Contention and "not held" are results; store faults are LockErrors
 * (ServiceUnavailable, NetworkTimeout) raised by the backend's errors.ts.
 */
import type {
  AcquireRequest,
  AcquireResult,
  ExtendResult,
  LockRef,
  LookupResult,
  OwnsResult,
  ReleaseResult,
} from "./model.ts";

export interface KeyRef {
  tenant: string;
  key: string;
  keyId: string;
}

export interface Backend {
  /** Shown by `npm start` and in /health. */
  readonly name: string;
  acquire(request: AcquireRequest): Promise<AcquireResult>;
  release(ref: LockRef): Promise<ReleaseResult>;
  extend(ref: LockRef, ttlMs: number): Promise<ExtendResult>;
  owns(ref: LockRef): Promise<OwnsResult>;
  lookup(ref: KeyRef): Promise<LookupResult>;
  /** The store's authoritative clock, in ms since the epoch. */
  time(): Promise<number>;
  /**
   * Optional push notification: `listener` runs when the key may have room (a release).
   * Lets server-side waiting wake at once instead of polling. Returns an unsubscribe.
   */
  watch?(keyId: string, listener: () => void): () => void;
  close?(): Promise<void>;
}
