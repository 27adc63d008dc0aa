/**
 * One HTTP round trip to the service: auth, per-request deadline, cancellation, the
 * error envelope, Retry-After, and a clock sample from every answer.
 */
import type { ClockTracker } from "./clock.ts";
import { isLockError, isLockErrorCode, LockError, type LockErrorCode } from "./errors.ts";
import { abortedBy, monotonic, throwIfAborted, wall } from "./timing.ts";
import type { ClientOptions } from "./types.ts";

export const DEFAULT_TIMEOUT_MS = 15_000;

export interface Answer<T> {
  status: number;
  body: T;
  /** When the request was sent (monotonic): leases are measured from here. */
  sentAt: number;
}

export interface RequestOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
  /** False for answers whose serverTimeMs was read after a server-side wait. */
  sample?: boolean;
}

export type Request = <T>(path: string, body?: object, options?: RequestOptions) => Promise<Answer<T>>;

export function createRequest(options: ClientOptions, clock: ClockTracker): Request {
  const base = options.url.replace(/\/+$/, "");
  return async (path, body, { signal, timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS, sample = true } = {}) => {
    throwIfAborted(signal);
    const token = options.getToken ? await options.getToken() : options.token;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    if (body) headers["content-type"] = "application/json";
    const sentAt = monotonic();
    try {
      const doFetch = options.fetch ?? fetch;
      const response = await doFetch(base + path, {
        method: body ? "POST" : "GET",
        headers,
        body: body ? JSON.stringify(body) : null,
        signal: signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal,
      });
      const text = await response.text();
      const json = parseJson(text);
      if (sample && typeof json?.serverTimeMs === "number") clock.sample(json.serverTimeMs, sentAt);
      const { status } = response;
      // 409 "locked" and 404 "not held" are answers; an `error` object never is.
      if (json && !json.error && (response.ok || status === 404 || status === 409)) {
        return { status, body: json as never, sentAt };
      }
      throw errorOf(status, json?.error, response.headers.get("retry-after"));
    } catch (error) {
      if (isLockError(error)) throw error;
      if (signal?.aborted) throw abortedBy(signal);
      if (deadline.signal.aborted) {
        throw new LockError("NetworkTimeout", `no answer from ${path} within ${timeoutMs} ms`, { cause: error });
      }
      throw new LockError("ServiceUnavailable", `${path} failed: ${error}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  };
}

type Json = { serverTimeMs?: unknown; error?: { code?: string; message?: string } } | undefined;

function parseJson(text: string): Json {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The server's code when it sent one; otherwise the code its HTTP status stands for. */
function errorOf(status: number, error: { code?: string; message?: string } | undefined, retryAfter: string | null) {
  const code = isLockErrorCode(error?.code) ? error.code : codeOfStatus(status);
  return new LockError(code, error?.message ?? `HTTP ${status}`, {
    status,
    ...(retryAfter === null ? {} : { retryAfterMs: retryAfterMs(retryAfter) }),
  });
}

function codeOfStatus(status: number): LockErrorCode {
  if (status === 401 || status === 403) return "AuthFailed";
  if (status === 429) return "RateLimited";
  if (status === 502 || status === 503) return "ServiceUnavailable";
  if (status === 504) return "NetworkTimeout";
  return status < 500 ? "InvalidArgument" : "Internal";
}

/** Retry-After is delay-seconds or an HTTP date. */
function retryAfterMs(value: string): number {
  const seconds = Number(value);
  return Math.max(0, Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - wall()) || 0;
}
