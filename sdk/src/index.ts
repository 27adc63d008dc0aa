/**
 * Holdfast's fetch SDK: distributed locks, semaphores, read-write locks and leader
 * election over HTTP, for browsers, edge runtimes, Deno, Bun and Node ≥ 20.
 */
export { RETRY_DEFAULTS, retryDelay } from "./backoff.ts";
export { createClient, getByKey, owns } from "./client.ts";
export type { ClockEstimate } from "./clock.ts";
export { ACQUISITION_TIMEOUT_MS, createLock, type LockConfig } from "./create-lock.ts";
export { isLockError, LockError, type LockErrorCode, type LockErrorOptions } from "./errors.ts";
export type * from "./types.ts";
