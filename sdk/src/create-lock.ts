/**
 * createLock(client)(fn, config): acquire with retries, run `fn` with the lock's handle,
 * release on every path. The lease is kept alive while `fn` runs (autoExtend defaults
 * to true here) and `lock.signal` aborts when it is lost or when `config.signal` aborts,
 * so `fn` can stop its work in time.
 */
import { RETRY_DEFAULTS } from "./backoff.ts";
import { LockError } from "./errors.ts";
import { asyncDispose } from "./lease.ts";
import { monotonic } from "./timing.ts";
import type { AcquireOptions, Client, Lock, RetryOptions } from "./types.ts";

export interface LockConfig extends Omit<AcquireOptions, "waitMs" | "retry" | "idempotencyKey"> {
  acquisition?: RetryOptions & {
    /** Total time to keep trying (default 5000). */
    timeoutMs?: number;
  };
  /** Failed release after `fn` (default: the client's onReleaseError, else console.error). Never throws. */
  onReleaseError?: (error: unknown, context: { lockId: string; key: string }) => void;
}

export const ACQUISITION_TIMEOUT_MS = 5000;

export function createLock(client: Client) {
  return async <T>(fn: (lock: Lock) => T | Promise<T>, config: LockConfig): Promise<T> => {
    const { acquisition = {}, onReleaseError, ...options } = config;
    const { timeoutMs = ACQUISITION_TIMEOUT_MS, maxRetries = RETRY_DEFAULTS.maxRetries } = acquisition;
    const started = monotonic();
    const lock = await client
      .acquire({
        autoExtend: true,
        ...options,
        waitMs: timeoutMs,
        retry: { ...acquisition, maxRetries },
      })
      .catch((error: unknown) => {
        // A service that stayed silent past the acquisition deadline is still a timeout of acquisition.
        if (monotonic() - started >= timeoutMs && (error as LockError)?.code === "NetworkTimeout") {
          throw new LockError("AcquisitionTimeout", `lock not acquired within ${timeoutMs} ms`, { cause: error });
        }
        throw error;
      });
    if (!lock.ok) throw new LockError("AcquisitionTimeout", `lock not acquired within ${timeoutMs} ms`);
    const handle: Lock = config.signal
      ? Object.create(lock, { signal: { value: AbortSignal.any([lock.signal, config.signal]) } })
      : lock;
    try {
      return await fn(handle);
    } finally {
      if (onReleaseError) {
        await lock.release().catch((error) =>
          Promise.resolve()
            .then(() => onReleaseError(error, { lockId: lock.lockId, key: lock.key }))
            .catch(() => {}),
        );
      } else {
        await lock[asyncDispose]();
      }
    }
  };
}
