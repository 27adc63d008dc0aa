import { createRoute } from "@hono/zod-openapi";
import { LockError } from "../../errors.ts";
import { formatFence } from "../../fence.ts";
import { formatLockId, keyIdOf, newToken } from "../../keys.ts";
import type { AcquireRequest, AcquireResult } from "../../model.ts";
import { AcquireBody, IdempotencyKeySchema } from "../../validation.ts";
import { acquireWithWait } from "../../waiting/poll.ts";
import { requireScope } from "../auth.ts";
import { bearerSecurity, type HoldfastApp, jsonBody, jsonResponse, type RouteDeps } from "../context.ts";
import { ErrorEnvelope, Granted, Locked } from "../responses.ts";
import { callStore } from "../store-call.ts";

const route = createRoute({
  method: "post",
  path: "/v1/locks/acquire",
  summary: "Acquire a lock, a semaphore permit or a read lock",
  security: bearerSecurity,
  request: { body: jsonBody(AcquireBody) },
  responses: {
    200: jsonResponse(Granted, "Granted"),
    409: jsonResponse(Locked, "Not granted: the key is held (also when waitMs elapsed)"),
    400: jsonResponse(ErrorEnvelope, "Invalid argument"),
  },
});

export function registerAcquire(app: HoldfastApp, deps: RouteDeps): void {
  app.openapi(route, async (c) => {
    const principal = c.get("principal");
    requireScope(principal, "lock");
    const body = c.req.valid("json");
    const idempotencyKey = body.idempotencyKey ?? idempotencyHeader(c.req.header("idempotency-key"));
    const key = body.key.normalize("NFC");
    const request: AcquireRequest = {
      tenant: principal.tenant,
      key,
      keyId: await keyIdOf(principal.tenant, key),
      token: newToken(),
      ttlMs: body.ttlMs,
      mode: body.mode,
      permits: body.permits ?? 1,
      limit: body.mode === "shared" ? (body.limit ?? null) : null,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      ...(body.priority === undefined ? {} : { priority: body.priority }),
    };
    const waitMs = Math.min(body.waitMs, deps.waitCapMs);
    const signal = c.req.raw.signal;
    const result = await decide(deps, request, waitMs, signal, waitUntilOf(c));
    if (result.ok) {
      if (waitMs > 0 && signal.aborted) await giveBack(deps, request, result.token);
      return c.json(
        {
          ok: true as const,
          lockId: formatLockId(request.keyId, result.token),
          fence: formatFence(result.fence),
          expiresAtMs: result.expiresAtMs,
          serverTimeMs: result.serverTimeMs,
        },
        200,
      );
    }
    if (result.reason === "locked") {
      return c.json({ ok: false as const, reason: "locked" as const, serverTimeMs: result.serverTimeMs }, 409);
    }
    throw rejection(result, request);
  });
}

/** Try once, wait in the store's own queue, or poll: whichever the backend offers. */
function decide(
  deps: RouteDeps,
  request: AcquireRequest,
  waitMs: number,
  signal: AbortSignal,
  waitUntil: ((promise: Promise<unknown>) => void) | undefined,
): Promise<AcquireResult> {
  const { backend, storeTimeoutMs } = deps;
  if (waitMs <= 0) return callStore(() => backend.acquire(request), storeTimeoutMs);
  if (!backend.acquireQueued) return acquireWithWait(backend, request, waitMs, signal, storeTimeoutMs);
  const options = { waitMs, signal, ...(waitUntil ? { waitUntil } : {}) };
  const queued = backend.acquireQueued.bind(backend);
  // The store answers by itself when waitMs runs out; the deadline only catches a silent store.
  return callStore(() => queued(request, options), waitMs + storeTimeoutMs);
}

/** Workers' ctx.waitUntil, where the runtime has one (Node has none). */
function waitUntilOf(c: { executionCtx: { waitUntil(promise: Promise<unknown>): void } }) {
  try {
    const context = c.executionCtx;
    return (promise: Promise<unknown>) => context.waitUntil(promise);
  } catch {
    return undefined;
  }
}

function idempotencyHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const parsed = IdempotencyKeySchema.safeParse(value);
  if (!parsed.success)
    throw new LockError("InvalidArgument", "Idempotency-Key header: 1..128 printable ASCII characters");
  return parsed.data;
}

/** A waiter whose client went away must not keep the key until its TTL runs out. */
async function giveBack(deps: RouteDeps, request: AcquireRequest, token: string): Promise<void> {
  await callStore(
    () => deps.backend.release({ tenant: request.tenant, keyId: request.keyId, token }),
    deps.storeTimeoutMs,
  ).catch(() => undefined);
}

function rejection(result: Exclude<AcquireResult, { ok: true } | { reason: "locked" }>, request: AcquireRequest) {
  if (result.reason === "limit-mismatch") {
    const held = result.limit === null ? "as an unlimited read lock" : `with limit ${result.limit}`;
    const asked = request.limit === null ? "no limit" : `limit ${request.limit}`;
    return new LockError("InvalidArgument", `key is held ${held}; this request names ${asked}`);
  }
  return new LockError("InvalidArgument", "idempotencyKey was used for a different request on this key");
}
