/**
 * The one error envelope, `{ok:false, error:{code, message}, serverTimeMs}`, for every
 * failure. Its time is this server's clock: an error may come before (a bad request) or
 * instead of (a store that failed) any reading of the store's.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { httpStatusOf, isLockError, type LockErrorCode } from "../errors.ts";

export function errorBody(code: LockErrorCode, message: string, limit?: string) {
  const error = limit === undefined ? { code, message } : { code, message, limit };
  return { ok: false as const, error, serverTimeMs: Date.now() };
}

/**
 * What a deployment whose settings are wrong answers to every request (the Worker, the
 * Firebase function): a clear 503 in the envelope, never a bare runtime error.
 */
export function misconfiguredResponse(error: unknown): Response {
  const message = `misconfigured: ${error instanceof Error ? error.message : String(error)}`;
  return Response.json(errorBody("ServiceUnavailable", message), { status: 503 });
}

export function errorResponse(c: Context, error: unknown, log: (error: unknown) => void): Response {
  if (isLockError(error)) {
    // A backend's Internal error is a defect an operator must see, like any unexpected one.
    if (error.code === "Internal") log(error);
    if (error.retryAfterMs !== undefined)
      c.header("Retry-After", String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
    return c.json(errorBody(error.code, error.message, error.limit), httpStatusOf(error) as ContentfulStatusCode);
  }
  // Hono raises these for malformed JSON, wrong content types and oversized bodies: client errors.
  if (error instanceof HTTPException && error.status >= 400 && error.status < 500) {
    return c.json(errorBody("InvalidArgument", error.message || "bad request"), error.status as ContentfulStatusCode);
  }
  log(error);
  return c.json(errorBody("Internal", "internal error"), 500);
}

/** Turns zod issues into one readable message. */
export function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join(".") || "body"}: ${issue.message}`)
    .join("; ");
}
