/**
 * When a grant was certainly held, as the client can prove it from the history alone. A
 * correct server's lease runs from some instant t in [invoke, complete] of the acquire to
 * t + ttl of the store's clock; the client can count on [complete, invoke + ttl] only. An
 * extend answered yes while certainly held moves the end to the extend's invoke + its TTL
 * (the server set expiry to now + ttl with now after that invoke); an extend that may have
 * been applied may also have shortened the lease, so it can only pull the end in; any
 * release invoked, answered or not, ends the hold when it is invoked. A request retried with
 * its idempotency key may have been applied when it was first sent, aborted or not: the
 * lease is counted from the first send of that key.
 *
 * Every store's clock counts whole milliseconds (Date.now, Redis TIME and Postgres times as
 * ms): a lease that starts at t is stamped floor(t), so it may end up to STORE_CLOCK_STEP_MS
 * before t + ttl, and a correct store may say "not held" that much before invoke + ttl (the
 * proof found it at 25,000 grants: an owns 499.x ms after the send of a 500 ms lease). The
 * certain hold ends that much earlier; the SDK is not affected, as it counts from the
 * expiresAtMs the store answered.
 */
export const STORE_CLOCK_STEP_MS = 1;

import type { AcquireOp, ExtendOp, Op, OwnsOp, ReleaseOp, WriteOp } from "./history.ts";

export interface Grant {
  lockId: string;
  key: string;
  mode: "exclusive" | "shared";
  permits: number;
  limit: number | null;
  fence: bigint;
  /** The ok answers for this lockId (an idempotent retry returns the same grant). */
  acquires: AcquireOp[];
  /** Releases, extends, owns and writes naming this lockId, in invocation order. */
  uses: Array<ReleaseOp | ExtendOp | OwnsOp | WriteOp>;
  /** The first send of the request (of any acquire with its idempotency key): the lease may start there. */
  askedMs: number;
  /** The earliest the grant is certainly held (the first ok answer). */
  startMs: number;
  /** The end of the certain hold, from every use. */
  endMs: number;
}

/** The end of the certain hold, counting only the uses invoked before `beforeMs`. */
export function holdEnd(grant: Grant, beforeMs = Number.POSITIVE_INFINITY, except?: Op): number {
  let end = grant.askedMs + Math.min(...grant.acquires.map((a) => a.ttlMs)) - STORE_CLOCK_STEP_MS;
  for (const use of grant.uses) {
    if (use.invokeMs >= beforeMs || use === except) continue;
    if (use.type === "release") end = Math.min(end, use.invokeMs);
    if (use.type !== "extend") continue;
    if (use.outcome === "ok") {
      if (use.invokeMs < end) end = use.invokeMs + use.ttlMs - STORE_CLOCK_STEP_MS;
    } else if (use.outcome === "unknown") {
      end = Math.min(end, use.invokeMs + use.ttlMs - STORE_CLOCK_STEP_MS);
    } else {
      end = Math.min(end, use.invokeMs);
    }
  }
  return end;
}

/** Whether `op` ran entirely inside the certain hold (the uses before it counted, it not). */
export function heldThroughout(grant: Grant, op: Op): boolean {
  return op.invokeMs >= grant.startMs && op.completeMs <= holdEnd(grant, op.invokeMs, op);
}

/** The grants of a history, by lockId, with their certain holds. */
export function grantsOf(history: Op[]): Map<string, Grant> {
  const grants = new Map<string, Grant>();
  for (const op of history) {
    if (op.type !== "acquire" || op.outcome !== "ok" || op.lockId === undefined || op.fence === undefined) continue;
    const grant = grants.get(op.lockId);
    if (grant) {
      grant.acquires.push(op);
      continue;
    }
    const { lockId, key, mode, permits, limit, fence } = op;
    grants.set(lockId, {
      lockId,
      key,
      mode,
      permits,
      limit,
      fence,
      acquires: [op],
      uses: [],
      askedMs: 0,
      startMs: 0,
      endMs: 0,
    });
  }
  const firstSend = new Map<string, number>();
  for (const op of history) {
    if (op.type !== "acquire" || op.idempotencyKey === undefined) continue;
    firstSend.set(op.idempotencyKey, Math.min(firstSend.get(op.idempotencyKey) ?? op.invokeMs, op.invokeMs));
  }
  for (const op of history) {
    if (op.type === "acquire") continue;
    grants.get(op.lockId)?.uses.push(op);
  }
  for (const grant of grants.values()) {
    grant.uses.sort((a, b) => a.invokeMs - b.invokeMs);
    grant.askedMs = Math.min(
      ...grant.acquires.map((a) =>
        a.idempotencyKey === undefined ? a.invokeMs : (firstSend.get(a.idempotencyKey) ?? a.invokeMs),
      ),
    );
    grant.startMs = Math.min(...grant.acquires.map((a) => a.completeMs));
    grant.endMs = holdEnd(grant);
  }
  return grants;
}
