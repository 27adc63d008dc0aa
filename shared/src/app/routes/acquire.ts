import { LockError } from "../../errors.ts";
import { formatFence } from "../../fence.ts";
import { formatLockId, keyIdOf, newToken } from "../../keys.ts";
import type { AcquireRequest, AcquireResult, CapacityResult } from "../../model.ts";
import { AcquireBody, IdempotencyKeySchema } from "../../validation.ts";
import { decide, giveBack } from "../../waiting/strategy.ts";
import { requireKeyAllowed, requireScope } from "../auth/auth.ts";
import type { HoldfastApp, RouteDeps } from "../context.ts";
import { jsonInput, requireJsonMediaType } from "../input/json-input.ts";

export function registerAcquire(app: HoldfastApp, deps: RouteDeps): void {
  // Documented in ../meta/openapi-spec.ts.
  app.post("/v1/locks/acquire", requireJsonMediaType, jsonInput(AcquireBody), async (c) => {
    const principal = c.get("principal");
    requireScope(principal, "lock");
    const body = c.req.valid("json");
    const sent = idempotencyKeyOf(body.idempotencyKey, c.req.header("idempotency-key"));
    // Scoped to the principal: another token of the tenant that sends the same key makes a request of its own.
    const idempotencyKey = sent === undefined ? undefined : `${principal.id} ${sent}`;
    const key = body.key.normalize("NFC");
    requireKeyAllowed(principal, key);
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
    // Only a wait listens for the client leaving: on Node, the request's signal is made on
    // first use, with an AbortController of its own.
    const signal = waitMs > 0 ? c.req.raw.signal : neverAborted();
    const waitUntil = waitUntilOf(c);
    const result = await decide(deps, request, waitMs, signal, waitUntil);
    if (result.ok) {
      // A waiter whose client left must not keep the key until its TTL runs out, unless
      // the grant may also have gone to a retry with the same idempotency key.
      if (waitMs > 0 && signal.aborted && request.idempotencyKey === undefined) {
        const released = giveBack(deps, request, result.token);
        waitUntil(released);
        await released;
      }
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

let unaborted: AbortSignal | undefined;
/** Made on first use: workerd allows no AbortController at a module's top level. */
const neverAborted = () => {
  unaborted ??= new AbortController().signal;
  return unaborted;
};

type WithExecutionContext = { executionCtx: { waitUntil(promise: Promise<unknown>): void } };

/**
 * Workers' ctx.waitUntil, where the runtime has one (Node has none). Looked up when first
 * called: Hono throws when there is none, and a throw on every request costs.
 */
function waitUntilOf(c: WithExecutionContext) {
  return (promise: Promise<unknown>) => {
    let context: WithExecutionContext["executionCtx"];
    try {
      context = c.executionCtx;
    } catch {
      return; // Node: the process keeps running by itself
    }
    context.waitUntil(promise);
  };
}

/** The body's idempotencyKey or the Idempotency-Key header; both at once must agree. */
function idempotencyKeyOf(fromBody: string | undefined, header: string | undefined): string | undefined {
  if (header === undefined) return fromBody;
  const parsed = IdempotencyKeySchema.safeParse(header);
  if (!parsed.success)
    throw new LockError("InvalidArgument", "Idempotency-Key header: 1..128 printable ASCII characters");
  if (fromBody !== undefined && fromBody !== parsed.data) {
    throw new LockError("InvalidArgument", "idempotencyKey and the Idempotency-Key header disagree");
  }
  return parsed.data;
}

function rejection(result: Exclude<AcquireResult, { ok: true } | { reason: "locked" }>, request: AcquireRequest) {
  if (result.reason === "limit-mismatch") {
    const held = result.limit === null ? "as an unlimited read lock" : `with limit ${result.limit}`;
    const asked = request.limit === null ? "no limit" : `limit ${request.limit}`;
    return new LockError("InvalidArgument", `key is held ${held}; this request names ${asked}`);
  }
  if (result.reason === "capacity") return capacityExceeded(result);
  return new LockError("InvalidArgument", "idempotencyKey was used for a different request on this key");
}

/** R9: 429 naming the bound; Retry-After when a holder's expiry will make room. */
function capacityExceeded(result: CapacityResult): LockError {
  const waitMs = result.retryAtMs === undefined ? undefined : Math.max(0, result.retryAtMs - result.serverTimeMs);
  const message =
    result.bound === "callers"
      ? `this queued request already has ${result.max} retries waiting with it; nothing changed`
      : `the key is at its bound of ${result.max} ${result.bound === "holders" ? "holders" : "queued waiters"}; nothing changed`;
  return new LockError("CapacityExceeded", message, {
    limit: result.bound,
    ...(waitMs === undefined ? {} : { retryAfterMs: waitMs }),
  });
}
