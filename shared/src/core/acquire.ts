import { atCapacity, type KeyBounds } from "../bounds.ts";
import { LockError } from "../errors.ts";
import { MAX_FENCE } from "../fence.ts";
import type { AcquireRequest, AcquireResult, Holder, KeyState } from "../model.ts";
import { assertSameKey, emptyState, pruneExpired } from "./state.ts";
import type { Transition } from "./transition.ts";

/**
 * R3 and R8: "the same request" as an earlier one, a holder or a queued original (the one
 * place the JavaScript decides it): mode, permits, TTL (when the earlier one kept it) and,
 * shared, the limit.
 */
export function sameRequest(
  holder: Pick<Holder, "mode" | "permits" | "ttlMs">,
  request: AcquireRequest,
  limit: number | null,
): boolean {
  return (
    holder.mode === request.mode &&
    holder.permits === request.permits &&
    (holder.ttlMs === undefined || holder.ttlMs === request.ttlMs) &&
    (request.mode === "exclusive" || limit === request.limit)
  );
}

/** Decides an acquire against the current record, at `nowMs`, the step's one reading of the store's clock (R1). Mutates `state`. */
export function acquireTransition(
  current: KeyState | null,
  request: AcquireRequest,
  nowMs: number,
  bounds: KeyBounds,
): Transition<AcquireResult> {
  const state = current ?? emptyState(request.tenant, request.key);
  assertSameKey(state, request.tenant, request.key);
  let changed = pruneExpired(state, nowMs);
  const serverTimeMs = nowMs;

  // R3: an earlier grant with this idempotency key answers; nothing else is decided.
  if (request.idempotencyKey !== undefined) {
    const earlier = state.holders.find((h) => h.idempotencyKey === request.idempotencyKey);
    if (earlier) {
      const result: AcquireResult = sameRequest(earlier, request, state.limit)
        ? {
            ok: true,
            token: earlier.token,
            fence: earlier.fence,
            acquiredAtMs: earlier.acquiredAtMs,
            expiresAtMs: earlier.expiresAtMs,
            serverTimeMs,
          }
        : { ok: false, reason: "idempotency-mismatch", serverTimeMs };
      return { state, result, changed };
    }
  }

  // R4, then R5.
  const blockers = blockingHolders(state, request);
  if (blockers === "limit-mismatch") {
    return { state, result: { ok: false, reason: "limit-mismatch", limit: state.limit, serverTimeMs }, changed };
  }
  if (blockers.length > 0) {
    const retryAtMs = Math.min(...blockers.map((h) => h.expiresAtMs));
    return { state, result: { ok: false, reason: "locked", serverTimeMs, retryAtMs }, changed };
  }

  // R9: a key at its holder bound takes no new holder; room comes with the first expiry or release.
  if (state.holders.length >= bounds.holders) {
    const retryAtMs = Math.min(...state.holders.map((h) => h.expiresAtMs));
    return { state, result: atCapacity("holders", bounds.holders, serverTimeMs, retryAtMs), changed };
  }
  // R6: the next fence; the limit is set only by a grant to a key without holders.
  if (state.fence >= MAX_FENCE) throw new LockError("Internal", "fence counter exhausted for this key");
  const holder: Holder = {
    token: request.token,
    mode: request.mode,
    permits: request.permits,
    fence: state.fence + 1,
    acquiredAtMs: nowMs,
    expiresAtMs: nowMs + request.ttlMs,
    ...(request.idempotencyKey === undefined ? {} : { idempotencyKey: request.idempotencyKey, ttlMs: request.ttlMs }),
  };
  if (state.holders.length === 0) state.limit = request.mode === "shared" ? request.limit : null;
  state.fence = holder.fence;
  state.holders.push(holder);
  changed = true;
  const result: AcquireResult = {
    ok: true,
    token: holder.token,
    fence: holder.fence,
    acquiredAtMs: holder.acquiredAtMs,
    expiresAtMs: holder.expiresAtMs,
    serverTimeMs,
  };
  return { state, result, changed };
}

/**
 * R4 and R5: the live holders that stand in the way of `request` (empty when it can be granted).
 * Only the holders whose expiry could make room are returned, so the earliest of
 * their expiries is a sound time to retry.
 */
function blockingHolders(state: KeyState, request: AcquireRequest): Holder[] | "limit-mismatch" {
  const { holders } = state;
  if (holders.length === 0) return [];
  if (request.mode === "exclusive") return holders;
  const exclusive = holders.filter((h) => h.mode === "exclusive");
  if (exclusive.length > 0) return exclusive;
  if (state.limit !== request.limit) return "limit-mismatch";
  const used = holders.reduce((sum, h) => sum + h.permits, 0);
  if (request.limit === null || used + request.permits <= request.limit) return [];
  return holders;
}

/**
 * When a refusal may turn into a grant by waiting: the blockers' expiry for "locked", the
 * first holder's expiry for a key at its holder bound (R9); undefined when waiting cannot
 * change it (a limit or idempotency mismatch).
 */
export function blockedUntil(result: AcquireResult): number | undefined {
  if (result.ok) return undefined;
  if (result.reason === "locked") return result.retryAtMs;
  if (result.reason === "capacity" && result.bound === "holders") return result.retryAtMs;
  return undefined;
}
