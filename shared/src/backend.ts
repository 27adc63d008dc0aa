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
  KeyRef,
  LockRef,
  LookupResult,
  OwnsResult,
  ReleaseResult,
} from "./model.ts";

export interface QueuedWaitOptions {
  waitMs: number;
  /** Aborts when the client goes away: the waiter must leave the queue. */
  signal: AbortSignal;
  /** Keeps the runtime alive for clean-up after the client left (Workers' ctx.waitUntil). */
  waitUntil?: (promise: Promise<unknown>) => void;
  /**
   * Called once the request holds its place in the key's queue (never when it is answered
   * at once): from then on, requests that come later are served after it, priorities aside.
   */
  onQueued?: () => void;
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
   * Optional fair server-side waiting in the store itself (FIFO by priority; a release
   * hands the key straight to the next waiter). Backends without it are polled.
   */
  acquireQueued?(request: AcquireRequest, options: QueuedWaitOptions): Promise<AcquireResult>;
  /** Extra facts for /health (the Firestore backend: its clock and this instance's skew). */
  health?(): Record<string, unknown>;
  close?(): Promise<void>;
}
