/**
 * The OpenAPI 3.1 document, generated from the classic zod schemas by @hono/zod-openapi,
 * exactly as the app used to build it on every `GET /openapi.json`. It now runs at build
 * time only (scripts/gen-openapi.ts writes ./openapi.json, which the app serves), so that
 * neither classic zod nor the OpenAPI generator ships in the Worker.
 *
 * The routes here describe the ones in ../routes; test/worker-bundle.test.ts checks that
 * the committed JSON equals this function's output and that every documented operation
 * is served.
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { AcquireBody, ExtendBody, LockIdBody, LookupBody } from "./requests.ts";
import {
  ErrorEnvelope,
  Extended,
  Granted,
  Health,
  Locked,
  Lookup,
  NotHeld,
  Owns,
  Released,
  Time,
} from "./responses.ts";

const bearerSecurity = [{ bearerAuth: [] }];

function jsonBody<T>(schema: T) {
  return { content: { "application/json": { schema } }, required: true } as const;
}

function jsonResponse<T>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}

/**
 * The error answers every route shares, written once under components/responses and
 * referred to by status (the document stays small: it ships in the Worker).
 */
const ERROR_RESPONSES = {
  InvalidArgument: [400, "InvalidArgument"],
  Unauthenticated: [401, "AuthFailed: missing, unknown or expired token"],
  Forbidden: [403, "AuthFailed: the token lacks the scope, or the key is outside its key prefixes"],
  TooLarge: [413, "InvalidArgument: the body is larger than 16 KiB"],
  NotJson: [415, "InvalidArgument: the body is not application/json"],
  RateLimited: [
    429,
    "RateLimited: the tenant's request rate is over its budget; or, on acquire, CapacityExceeded: the key is at its bound of holders or waiters (error.limit names it) and nothing changed. Retry-After when waiting makes room",
  ],
  Internal: [500, "Internal: a bug; never for bad input"],
  Unavailable: [503, "ServiceUnavailable: the store is unavailable, or the server misconfigured; retry"],
  Timeout: [504, "NetworkTimeout: the store did not answer in time"],
} as const;

type ErrorName = keyof typeof ERROR_RESPONSES;

function refs(...names: ErrorName[]) {
  return Object.fromEntries(
    names.map((name) => [ERROR_RESPONSES[name][0], { $ref: `#/components/responses/${name}` }]),
  ) as Record<number, { $ref: string }>;
}

/** What every route may answer besides its own results: the store's failures. */
const storeErrors = refs("Internal", "Unavailable", "Timeout");

/** What a route behind a bearer token and a JSON body may answer besides its own results. */
const requestErrors = refs(
  "InvalidArgument",
  "Unauthenticated",
  "Forbidden",
  "TooLarge",
  "NotJson",
  "RateLimited",
  "Internal",
  "Unavailable",
  "Timeout",
);

// In the order the app registered them: the document lists paths in registration order.
const routes = [
  createRoute({
    method: "post",
    path: "/v1/locks/acquire",
    summary: "Acquire a lock, a semaphore permit or a read lock",
    security: bearerSecurity,
    request: { body: jsonBody(AcquireBody) },
    responses: {
      200: jsonResponse(Granted, "Granted"),
      409: jsonResponse(Locked, "Not granted: the key is held (also when waitMs elapsed)"),
      ...requestErrors,
    },
  }),
  createRoute({
    method: "post",
    path: "/v1/locks/release",
    summary: "Release a grant by its lockId",
    security: bearerSecurity,
    request: { body: jsonBody(LockIdBody) },
    responses: {
      200: jsonResponse(Released, "Released"),
      404: jsonResponse(NotHeld, "Not held: unknown, already released or expired"),
      ...requestErrors,
    },
  }),
  createRoute({
    method: "post",
    path: "/v1/locks/extend",
    summary: "Set a live grant's expiry to now + ttlMs",
    security: bearerSecurity,
    request: { body: jsonBody(ExtendBody) },
    responses: {
      200: jsonResponse(Extended, "Extended"),
      404: jsonResponse(NotHeld, "Not held: unknown, released or expired (an expired grant cannot be revived)"),
      ...requestErrors,
    },
  }),
  createRoute({
    method: "post",
    path: "/v1/locks/owns",
    summary: "Whether a lockId still names a live grant",
    security: bearerSecurity,
    request: { body: jsonBody(LockIdBody) },
    responses: {
      200: jsonResponse(Owns, "owned is true while the grant is live"),
      ...requestErrors,
    },
  }),
  createRoute({
    method: "post",
    path: "/v1/locks/lookup",
    summary: "Who holds a key (lockIds only for the admin scope)",
    security: bearerSecurity,
    request: { body: jsonBody(LookupBody) },
    responses: {
      200: jsonResponse(Lookup, "The key's live holders"),
      ...requestErrors,
    },
  }),
  createRoute({
    method: "get",
    path: "/v1/time",
    summary: "The store's clock, for clients that estimate their offset",
    responses: { 200: jsonResponse(Time, "Server time"), ...storeErrors },
  }),
  createRoute({
    method: "get",
    path: "/health",
    summary: "The backend's name and the store's clock; answers only when the store does",
    responses: { 200: jsonResponse(Health, "Healthy"), ...storeErrors },
  }),
];

/** The document as @hono/zod-openapi's `doc31()` produced it. */
export function buildOpenApiDocument(): unknown {
  const registry = new OpenAPIHono();
  for (const route of routes) registry.openAPIRegistry.registerPath(route);
  registry.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer" });
  // The error envelope, which the shared responses below refer to by name.
  registry.openAPIRegistry.register("Error", ErrorEnvelope);
  for (const [name, [status, description]] of Object.entries(ERROR_RESPONSES)) {
    registry.openAPIRegistry.registerComponent("responses", name, {
      description,
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      ...(status === 429
        ? { headers: { "Retry-After": { schema: { type: "integer" }, description: "Seconds to wait" } } }
        : {}),
    });
  }
  return registry.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Holdfast",
      version: "1.0.0",
      description: "Distributed locks, semaphores and read-write locks with fencing tokens, over HTTP.",
    },
  });
}

/** The bytes `GET /openapi.json` serves: what Hono's `c.json()` made of the document. */
export function renderOpenApiJson(): string {
  return JSON.stringify(buildOpenApiDocument());
}
