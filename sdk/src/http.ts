/**
 * One HTTP round trip to the service: auth, per-request deadline, cancellation, the
 * error envelope, Retry-After, and a clock sample from every answer that is not an error
 * (an error carries the server's own clock, which is not always the store's).
 */
import type { ClockTracker } from "./clock.ts";
import { isLockError, LockError, type LockErrorCode } from "./errors.ts";
import { abortedBy, backgroundTimer, monotonic, throwIfAborted, wall } from "./timing.ts";
import type { ClientOptions } from "./types.ts";

export const DEFAULT_TIMEOUT_MS = 15_000;

export interface Answer<T> {
  body: T;
  /** When the request was sent (monotonic): leases are measured from here. */
  sentAt: number;
}

export interface RequestOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
}

export type Request = <T>(path: string, body?: object, options?: RequestOptions) => Promise<Answer<T>>;

type Envelope = {
  ok?: unknown;
  serverTimeMs?: unknown;
  error?: { code: LockErrorCode; message: string; limit?: string };
};

export function createRequest(options: ClientOptions, clock: ClockTracker): Request {
  const base = options.url.replace(/\/+$/, "");
  const tokens = tokenSource(options);
  const send = async <T>(
    path: string,
    body: object | undefined,
    requestOptions: RequestOptions = {},
    freshToken = false,
  ): Promise<Answer<T>> => {
    const { signal, timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS } = requestOptions;
    const token = await tokens(freshToken);
    throwIfAborted(signal);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const sentAt = monotonic();
    try {
      const response = await (options.fetch ?? fetch)(base + path, {
        method: body ? "POST" : "GET",
        headers: {
          ...(token && { authorization: `Bearer ${token}` }),
          ...(body && { "content-type": "application/json" }),
        },
        body: body ? JSON.stringify(body) : null,
        signal: signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal,
      });
      // A body that is not JSON (a proxy's error page) is judged by its status alone;
      // a body cut off by the deadline or the caller is thrown to the catch below.
      const json: Envelope | null = await response.json().catch((error) => {
        if (deadline.signal.aborted || signal?.aborted) throw error;
        return null;
      });
      const { status } = response;
      const failure = json?.error;
      if (json && !failure) {
        if (typeof json.serverTimeMs === "number") clock.sample(json.serverTimeMs, sentAt);
        // 409 "locked" and 404 "not held" are answers; an `error` object never is, and
        // neither is a 404/409 without `ok: false` (a gateway's page, a wrong base URL).
        if (response.ok || ((status === 404 || status === 409) && json.ok === false))
          return { body: json as never, sentAt };
      }
      // A kept token the service no longer takes (revoked, or expired by its clock): once more with a new one.
      if (status === 401 && options.getToken && !freshToken) return send(path, body, requestOptions, true);
      const retryAfter = response.headers.get("retry-after");
      throw new LockError(failure?.code ?? codeOf(status), failure?.message ?? `HTTP ${status}`, {
        status,
        limit: failure?.limit,
        // Delay-seconds or an HTTP date.
        ...(retryAfter && { retryAfterMs: Math.max(0, +retryAfter * 1000 || Date.parse(retryAfter) - wall() || 0) }),
      });
    } catch (error) {
      throw isLockError(error)
        ? error
        : signal?.aborted
          ? abortedBy(signal)
          : deadline.signal.aborted
            ? new LockError("NetworkTimeout", `${path}: no answer within ${timeoutMs} ms`, { cause: error })
            : new LockError("ServiceUnavailable", `${path}: ${error}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  };
  return send;
}

/**
 * The token for the next request. A token from `getToken` that is a JWT is kept until
 * 30 s before its `exp`, then fetched anew; any other token is fetched for every request.
 * Concurrent requests share one call.
 */
function tokenSource({ token, getToken, timeoutMs = DEFAULT_TIMEOUT_MS }: ClientOptions) {
  let kept: Promise<string> | undefined;
  let until = 0;
  return async (fresh?: boolean) => {
    if (!getToken) return token;
    if (fresh || wall() >= until) {
      until = Infinity; // shared while it is fetched
      // Bounded like a request: a getToken that never settles must not hold every request forever.
      const late = new Promise<never>((_, reject) =>
        backgroundTimer(() => reject(`no token within ${timeoutMs} ms`), timeoutMs),
      );
      kept = Promise.race([Promise.resolve().then(getToken), late]).then(
        (next) => {
          try {
            until =
              JSON.parse(atob(next.split(".")[1]?.replace(/-/g, "+").replace(/_/g, "/") ?? "")).exp * 1e3 - 3e4 || 0;
          } catch {
            until = 0; // not a JWT
          }
          return next;
        },
        (error) => {
          until = 0;
          throw new LockError("AuthFailed", `getToken failed: ${error}`, { cause: error });
        },
      );
    }
    return kept;
  };
}

/** The code an answer without an error envelope (a proxy, a captive portal) stands for. */
const codeOf = (status: number): LockErrorCode =>
  status === 429
    ? "RateLimited"
    : status === 401 || status === 403
      ? "AuthFailed"
      : status === 504
        ? "NetworkTimeout"
        : status === 500
          ? "Internal"
          : status >= 400 && status < 500
            ? "InvalidArgument"
            : "ServiceUnavailable";
