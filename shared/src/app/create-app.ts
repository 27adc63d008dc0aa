/**
 * The Hono app factory: every route of SPEC §3 over any Backend. Runtime entries
 * (Node, Workers, Firebase) only build a backend and an authenticator and call this.
 */

// hono/tiny is Hono with its PatternRouter: every route here is a fixed path, which that
// router matches as well as the default's RegExpRouter, in 5 KB less of the Worker.
import { Hono } from "hono/tiny";
import type { Backend } from "../backend.ts";
import { LockError } from "../errors.ts";
import { type AuditSink, auditEventOf, type ClientAddress, consoleAudit } from "./audit.ts";
import { type Authenticator, authenticate } from "./auth/auth.ts";
import { assertPositiveInt } from "./config/config.ts";
import type { HoldfastEnv, RouteDeps } from "./context.ts";
import { errorBody, errorResponse } from "./envelope.ts";
import { corsForBrowsers, limitBody } from "./input/cheap-middleware.ts";
import { rejectPrototypeKeys } from "./input/prototype-guard.ts";
import type { RateLimiter } from "./rate-limit/rate-limit.ts";
import { registerAcquire } from "./routes/acquire.ts";
import { registerExtend } from "./routes/extend.ts";
import { registerLookup } from "./routes/lookup.ts";
import { registerMeta } from "./routes/meta.ts";
import { registerOwns } from "./routes/owns.ts";
import { registerRelease } from "./routes/release.ts";

export interface AppOptions {
  backend: Backend;
  auth: Authenticator;
  /** Origins allowed to call from browsers; `["*"]` allows any. Default: none. */
  corsOrigins?: readonly string[];
  /** Longest a single request may wait server-side for a grant (default 25 s). */
  waitCapMs?: number;
  /** Deadline for one store operation before NetworkTimeout (default 10 s). */
  storeTimeoutMs?: number;
  rateLimit?: RateLimiter;
  /** Where unexpected errors are reported (default console.error). */
  logError?: (error: unknown) => void;
  /** Where auth failures and admin requests are recorded (default: a JSON line on stdout). */
  audit?: AuditSink;
  /** The client's address for the audit log, from what only the platform sets (default: none). */
  clientAddress?: ClientAddress;
}

export const MAX_BODY_BYTES = 16 * 1024;

const NEVER_LIMITED = new Set(["/v1/locks/release", "/v1/locks/extend"]);

export function createApp(options: AppOptions) {
  const logError = options.logError ?? ((error: unknown) => console.error("holdfast: internal error", error));
  const audit = options.audit ?? consoleAudit;
  const deps: RouteDeps = {
    backend: options.backend,
    storeTimeoutMs: assertPositiveInt("storeTimeoutMs", options.storeTimeoutMs ?? 10_000),
    waitCapMs: assertPositiveInt("waitCapMs", options.waitCapMs ?? 25_000),
  };
  // Plain Hono: the routes validate their bodies with zod/mini (json-input.ts) and the
  // OpenAPI document is generated at build time (meta/openapi-spec.ts).
  const app = new Hono<HoldfastEnv>();

  const origins = options.corsOrigins ?? [];
  app.use(
    "*",
    corsForBrowsers({
      origin: (origin) => (origins.includes("*") || origins.includes(origin) ? origin : null),
      allowMethods: ["GET", "POST", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key"],
      exposeHeaders: ["Retry-After"],
      maxAge: 600,
    }),
  );
  app.use(
    "/v1/locks/*",
    limitBody(MAX_BODY_BYTES, (c) =>
      // The rest of the body is never read: the connection cannot carry another request,
      // so the answer says it closes (Node then ends the socket after it; Workers own their connections).
      c.json(errorBody("InvalidArgument", `body larger than ${MAX_BODY_BYTES} bytes`), 413, { connection: "close" }),
    ),
  );
  app.use("/v1/locks/*", async (c, next) => {
    const principal = await authenticate(c.req.header("authorization"), options.auth);
    // Release and extend are never rate-limited: refusing them would keep a key held until
    // its TTL runs out, the opposite of what a busy tenant needs.
    if (options.rateLimit && !NEVER_LIMITED.has(c.req.path)) {
      const verdict = await options.rateLimit(principal.tenant);
      if (!verdict.ok) {
        throw new LockError("RateLimited", "tenant over its request quota", { retryAfterMs: verdict.retryAfterMs });
      }
    }
    c.set("principal", principal);
    await next();
    // Only what needs the admin scope is audited (today: lookups that show raw lockIds),
    // not every request of a token that has it: the default admin token would log them all.
    if (c.get("usedAdmin")) audit(auditEventOf(c, "admin", c.res.status, options.clientAddress));
  });
  app.use("/v1/locks/*", rejectPrototypeKeys);

  registerAcquire(app, deps);
  registerRelease(app, deps);
  registerExtend(app, deps);
  registerOwns(app, deps);
  registerLookup(app, deps);
  registerMeta(app, deps);

  app.notFound((c) => c.json(errorBody("InvalidArgument", `no route ${c.req.method} ${c.req.path}`), 404));
  app.onError((error, c) => {
    const response = errorResponse(c, error, logError);
    if (error instanceof LockError && error.code === "AuthFailed") {
      audit(auditEventOf(c, "auth-failed", response.status, options.clientAddress, error.message));
    }
    return response;
  });
  return app;
}
