/**
 * The one error type of Holdfast, and the one table that maps its codes to HTTP
 * statuses. Contention ("locked") and "not held" are results, never LockErrors.
 */
export const LOCK_ERROR_CODES = [
  "InvalidArgument",
  "AuthFailed",
  "RateLimited",
  "CapacityExceeded",
  "ServiceUnavailable",
  "NetworkTimeout",
  "Internal",
  // Client-side only (the SDK raises them; the server never sends them).
  "AcquisitionTimeout",
  "Aborted",
] as const;

export type LockErrorCode = (typeof LOCK_ERROR_CODES)[number];

export type ServerErrorCode = Exclude<LockErrorCode, "AcquisitionTimeout" | "Aborted">;

/** The single code → status table. AuthFailed is 401 unless the caller says 403. */
export const HTTP_STATUS: Record<ServerErrorCode, 400 | 401 | 429 | 500 | 503 | 504> = {
  InvalidArgument: 400,
  AuthFailed: 401,
  RateLimited: 429,
  CapacityExceeded: 429,
  ServiceUnavailable: 503,
  NetworkTimeout: 504,
  Internal: 500,
};

export interface LockErrorOptions {
  cause?: unknown;
  /** 403 for a valid token without the needed scope. */
  status?: 401 | 403;
  /** For RateLimited and CapacityExceeded: how long the client should wait. */
  retryAfterMs?: number;
  /** For CapacityExceeded: the bound the key is at ("holders" or "waiters"). */
  limit?: string;
}

export class LockError extends Error {
  override readonly name = "LockError";
  readonly code: LockErrorCode;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly limit: string | undefined;

  constructor(code: LockErrorCode, message: string, options: LockErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.limit = options.limit;
  }
}

export function isLockError(value: unknown): value is LockError {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { name?: unknown }).name === "LockError" &&
    LOCK_ERROR_CODES.includes((value as { code?: unknown }).code as LockErrorCode)
  );
}

export function httpStatusOf(error: LockError): number {
  if (error.code === "AuthFailed" && error.status === 403) return 403;
  if (error.code === "AcquisitionTimeout" || error.code === "Aborted") return 500;
  return HTTP_STATUS[error.code];
}
