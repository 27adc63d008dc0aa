/**
 * The SDK's one error type. Contention ("locked") and "not held" are results, never
 * LockErrors: an exception means the caller could not learn the answer.
 */
export type LockErrorCode =
  // Sent by the server (its error envelope), or inferred from the HTTP status.
  | "InvalidArgument"
  | "AuthFailed"
  | "RateLimited"
  | "CapacityExceeded"
  | "ServiceUnavailable"
  | "NetworkTimeout"
  | "Internal"
  // Client-side only.
  | "AcquisitionTimeout"
  | "Aborted";

export interface LockErrorOptions {
  cause?: unknown;
  /** The HTTP status of the answer that carried the error, if any. */
  status?: number;
  /** RateLimited, CapacityExceeded: the server's Retry-After, in ms. */
  retryAfterMs?: number;
  /** CapacityExceeded: the key's bound that was reached, "holders" or "waiters". */
  limit?: string | undefined;
}

export class LockError extends Error {
  override readonly name = "LockError";
  // Set by the constructor; `declare` spares the bundle empty field definitions.
  declare readonly code: LockErrorCode;
  declare readonly status: number | undefined;
  declare readonly retryAfterMs: number | undefined;
  declare readonly limit: string | undefined;

  constructor(code: LockErrorCode, message: string, options: LockErrorOptions = {}) {
    super(message, options);
    this.code = code;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.limit = options.limit;
  }
}

/**
 * Structural check, so that it also recognises LockErrors from another realm (an
 * iframe, a worker, a second copy of this package) where `instanceof` fails.
 */
export function isLockError(value: unknown, code?: LockErrorCode): value is LockError {
  const error = value as LockError | null;
  return error?.name === "LockError" && typeof error.code === "string" && (!code || error.code === code);
}
