/**
 * SPEC §3/§5.6: a bad request never reaches the store, never changes state and never
 * yields a 5xx. fast-check sends ≥ 10,000 requests, each with at least one defect
 * (in the method, path, auth, content type, JSON or a field), to every route.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Backend } from "../src/backend.ts";
import { createApp, createMemoryBackend, staticTokens } from "../src/index.ts";

const ROUTES = ["acquire", "release", "extend", "owns", "lookup"] as const;
type Route = (typeof ROUTES)[number];
const VALID_LOCK_ID = "AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB";

/** A backend that counts every call, so the test can prove the store was never reached. */
function countingBackend(): { backend: Backend; calls: () => number } {
  const inner = createMemoryBackend();
  let calls = 0;
  const counted =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A) => {
      calls++;
      return fn(...args);
    };
  return {
    backend: {
      ...inner,
      acquire: counted(inner.acquire),
      release: counted(inner.release),
      extend: counted(inner.extend),
      owns: counted(inner.owns),
      lookup: counted(inner.lookup),
    },
    calls: () => calls,
  };
}

const notJson = fc.oneof(
  fc.string(),
  fc.constantFrom("{", "{key:1}", "[1,", '{"key":"a",}', "nul", "\u0000", '{"key":"a"}{}', "'x'"),
);
const anyJson = fc.jsonValue({ maxDepth: 3 });
const wrongType = fc.oneof(
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.object({ maxDepth: 1 }),
);

const badKey = fc.oneof(
  fc.constant(""),
  fc.string({ minLength: 513, maxLength: 600 }),
  fc.constant("é".repeat(257)), // 514 bytes of UTF-8 in 257 characters
  fc.constantFrom("\ud800", "a\udc00b", "\udbff"),
  fc.integer(),
  wrongType,
);
const badTtl = fc.oneof(
  fc.integer({ max: 99 }),
  fc.integer({ min: 86_400_001 }),
  fc.double({ min: 100.001, max: 1e6, noNaN: true }).filter((n) => !Number.isInteger(n)),
  fc.string(),
  wrongType,
);
const badCount = fc.oneof(
  fc.integer({ max: 0 }),
  fc.integer({ min: 1_000_001 }),
  fc.constant(1.5),
  fc.string(),
  wrongType,
);
const badWait = fc.oneof(
  fc.integer({ max: -1 }),
  fc.integer({ min: 3_600_001 }),
  fc.constant(0.5),
  fc.string(),
  wrongType,
);
const badPriority = fc.oneof(
  fc.integer({ min: 1_000_001 }),
  fc.integer({ max: -1_000_001 }),
  fc.constant(0.5),
  fc.string(),
  wrongType,
);
const badMode = fc.oneof(
  fc.string().filter((s) => s !== "exclusive" && s !== "shared"),
  fc.integer(),
  wrongType,
);
const badIdempotency = fc.oneof(
  fc.constant(""),
  fc.string({ minLength: 129, maxLength: 140 }),
  fc.constantFrom("has space", "ünïcode", "tab\t"),
  fc.integer(),
  wrongType,
);
const badLockId = fc.oneof(
  fc.string().filter((s) => !/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/.test(s)),
  fc.constant(`${VALID_LOCK_ID}x`),
  fc.constant(VALID_LOCK_ID.replace(".", "!")),
  fc.integer(),
  wrongType,
);
const unknownField = fc
  .oneof(
    fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty"),
    fc.string({ minLength: 1, maxLength: 12 }),
  )
  .filter(
    (s) => !["key", "ttlMs", "mode", "permits", "limit", "waitMs", "idempotencyKey", "priority", "lockId"].includes(s),
  );

const goodKey = fc.string({ minLength: 1, maxLength: 30 });

/** A body for `route` that is valid but for at least one field. */
function badBodyFor(route: Route): fc.Arbitrary<Record<string, unknown>> {
  const withUnknown = (base: fc.Arbitrary<Record<string, unknown>>) =>
    fc
      .tuple(base, unknownField, fc.jsonValue({ maxDepth: 1 }))
      .map(([body, field, value]) => ({ ...body, [field]: value }));
  switch (route) {
    case "acquire":
      return fc.oneof(
        badKey.map((key) => ({ key })),
        fc.record({ key: goodKey, ttlMs: badTtl }),
        fc.record({ key: goodKey, mode: badMode }),
        fc.record({ key: goodKey, mode: fc.constant("shared"), permits: badCount }),
        fc.record({ key: goodKey, mode: fc.constant("shared"), limit: badCount }),
        fc.record({ key: goodKey, mode: fc.constant("exclusive"), permits: fc.integer({ min: 1, max: 5 }) }),
        fc.record({ key: goodKey, limit: fc.integer({ min: 1, max: 5 }) }),
        fc.integer({ min: 1, max: 100 }).chain((limit) =>
          fc.record({
            key: goodKey,
            mode: fc.constant("shared"),
            limit: fc.constant(limit),
            permits: fc.integer({ min: limit + 1, max: 1_000_000 }),
          }),
        ),
        fc.record({ key: goodKey, waitMs: badWait }),
        fc.record({ key: goodKey, idempotencyKey: badIdempotency }),
        fc.record({ key: goodKey, waitMs: fc.constant(1_000), priority: badPriority }),
        fc.record({ ttlMs: fc.integer({ min: 100, max: 1000 }) }),
        withUnknown(fc.record({ key: goodKey })),
      );
    case "release":
    case "owns":
      return fc.oneof(
        badLockId.map((lockId) => ({ lockId })),
        fc.constant({}),
        withUnknown(fc.constant({ lockId: VALID_LOCK_ID })),
      );
    case "extend":
      return fc.oneof(
        badLockId.map((lockId) => ({ lockId, ttlMs: 1_000 })),
        fc.record({ lockId: fc.constant(VALID_LOCK_ID), ttlMs: badTtl }),
        fc.constant({ ttlMs: 1_000 }),
        withUnknown(fc.constant({ lockId: VALID_LOCK_ID })),
      );
    case "lookup":
      return fc.oneof(
        badKey.map((key) => ({ key })),
        fc.constant({}),
        withUnknown(fc.record({ key: goodKey })),
      );
  }
}

interface BadRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

const goodHeaders = { authorization: "Bearer good", "content-type": "application/json" };
const badAuth = fc
  .oneof(
    fc.constant({}),
    fc.constantFrom("Bearer wrong", "Basic Z29vZA==", "Bearer", "bearer  good", "good", "Bearer good extra"),
    fc.string().map((s) => `Bearer ${s}x`),
  )
  .map((value) => (typeof value === "string" ? { authorization: value } : value));

const route = fc.constantFrom(...ROUTES);

const badRequest: fc.Arbitrary<BadRequest> = fc.oneof(
  // A defective field in an otherwise well-formed request.
  route.chain((r) =>
    badBodyFor(r).map((body) => ({
      method: "POST",
      path: `/v1/locks/${r}`,
      headers: goodHeaders,
      body: JSON.stringify(body),
    })),
  ),
  // Not JSON at all, or JSON that is not an object of the route's shape.
  fc
    .tuple(
      route,
      fc.oneof(
        notJson,
        anyJson.map((v) => JSON.stringify(v)),
      ),
    )
    .map(([r, body]) => ({
      method: "POST",
      path: `/v1/locks/${r}`,
      headers: goodHeaders,
      body,
    }))
    .filter((request) => !isAccidentallyValid(request.body)),
  // Valid-looking bodies with bad or missing credentials (a read-only token may not acquire).
  fc.tuple(route, badAuth).map(([r, auth]) => ({
    method: "POST",
    path: `/v1/locks/${r}`,
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify(r === "acquire" || r === "lookup" ? { key: "k" } : { lockId: VALID_LOCK_ID }),
  })),
  fc.constant({
    method: "POST",
    path: "/v1/locks/acquire",
    headers: { authorization: "Bearer read-only", "content-type": "application/json" },
    body: JSON.stringify({ key: "k" }),
  }),
  // Wrong content type, wrong method, unknown path, oversized body.
  fc
    .tuple(route, fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"))
    .map(([r, type]) => ({
      method: "POST",
      path: `/v1/locks/${r}`,
      headers: { ...goodHeaders, "content-type": type },
      body: "key=k",
    })),
  fc.tuple(route, fc.constantFrom("GET", "PUT", "DELETE", "PATCH")).map(([r, method]) => ({
    method,
    path: `/v1/locks/${r}`,
    headers: goodHeaders,
    body: method === "GET" ? undefined : JSON.stringify({ key: "k" }),
  })),
  fc.webPath().map((path) => ({ method: "POST", path: `/v1/locks/x${path}`, headers: goodHeaders, body: "{}" })),
  fc.constant({
    method: "POST",
    path: "/v1/locks/acquire",
    headers: goodHeaders,
    body: JSON.stringify({ key: "k", pad: "x".repeat(20_000) }),
  }),
);

/** Random JSON can, rarely, be a valid body (e.g. `{"key":"a"}`); such draws are not bad input. */
function isAccidentallyValid(body: string | undefined): boolean {
  try {
    const value = JSON.parse(body ?? "");
    return (
      typeof value === "object" && value !== null && !Array.isArray(value) && ("key" in value || "lockId" in value)
    );
  } catch {
    return false;
  }
}

describe("bad input (property)", () => {
  it("answers every defective request with a 4xx envelope and never touches the store", async () => {
    const { backend, calls } = countingBackend();
    const app = createApp({
      backend,
      auth: staticTokens([
        { token: "good", tenant: "fuzz", scopes: ["lock", "read"] },
        { token: "read-only", tenant: "fuzz", scopes: ["read"] },
      ]),
      logError: (error) => {
        throw error;
      },
    });
    let requests = 0;
    await fc.assert(
      fc.asyncProperty(badRequest, async (request) => {
        requests++;
        const response = await app.request(request.path, {
          method: request.method,
          headers: request.headers,
          ...(request.body === undefined ? {} : { body: request.body }),
        });
        expect(response.status, `${request.method} ${request.path} ${request.body}`).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
        expect(response.status).not.toBe(409);
        const envelope = (await response.json()) as { ok: unknown; error: { code: unknown; message: unknown } };
        expect(envelope.ok).toBe(false);
        expect(["InvalidArgument", "AuthFailed"]).toContain(envelope.error.code);
        expect(typeof envelope.error.message).toBe("string");
      }),
      // A fixed seed keeps CI repeatable; FC_SEED explores other inputs (fast-check prints the seed on failure).
      { numRuns: 10_000, seed: Number(process.env.FC_SEED ?? 20_261_123) },
    );
    expect(requests).toBeGreaterThanOrEqual(10_000);
    expect(calls()).toBe(0);
  }, 120_000);
});
