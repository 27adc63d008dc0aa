/**
 * How an acquire gets its answer, whatever the HTTP layer: once, waiting in the store's own
 * queue (Backend.acquireQueued), or polling a store that has none; and a grant that nobody
 * will hear of is given back rather than left held until its TTL.
 */
import type { Backend } from "../backend.ts";
import { LockError } from "../errors.ts";
import type { AcquireRequest, AcquireResult } from "../model.ts";
import { callStore } from "../store-call.ts";
import { acquireWithWait } from "./poll.ts";

/** The store and how long one of its steps may take. */
export interface StoreDeps {
  backend: Backend;
  storeTimeoutMs: number;
}

/** Try once, wait in the store's own queue, or poll: whichever the backend offers. */
export function decide(
  deps: StoreDeps,
  request: AcquireRequest,
  waitMs: number,
  signal: AbortSignal,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<AcquireResult> {
  const { backend, storeTimeoutMs } = deps;
  if (!backend.acquireQueued && waitMs > 0) return acquireWithWait(backend, request, waitMs, signal, storeTimeoutMs);
  // Only a queued request has a wait to abandon: a try-once acquire pays for no signal.
  const abandon = waitMs > 0 && backend.acquireQueued ? new AbortController() : undefined;
  const pending =
    abandon && backend.acquireQueued
      ? backend.acquireQueued(request, {
          waitMs,
          signal: AbortSignal.any([signal, abandon.signal]),
          waitUntil,
        })
      : backend.acquire(request);
  // A queued request's store answers by itself when waitMs runs out; the deadline only catches a silent store.
  return callStore(() => pending, waitMs + storeTimeoutMs).catch((error: unknown) => {
    // Answered 504: the request leaves the queue, and a grant that still comes is given
    // back, so that nobody holds the key unheard of until its TTL. With an idempotency
    // key the grant may be a retry's: it keeps it.
    if (error instanceof LockError && error.code === "NetworkTimeout") {
      abandon?.abort(error);
      const settled = pending.then(
        (late) => (late.ok && request.idempotencyKey === undefined ? giveBack(deps, request, late.token) : undefined),
        () => undefined,
      );
      waitUntil(settled);
    }
    throw error;
  });
}

export async function giveBack(deps: StoreDeps, request: AcquireRequest, token: string): Promise<void> {
  await callStore(
    () => deps.backend.release({ tenant: request.tenant, keyId: request.keyId, token }),
    deps.storeTimeoutMs,
  ).catch(() => undefined);
}
