/**
 * Pure state transitions on one key's record, shared by every backend that can run
 * JavaScript inside its atomic step (memory, Durable Objects, Firestore transactions).
 * Redis (Lua) and Postgres (SQL) restate the same rules in their own language; the
 * contract suite holds them all to it.
 */
import { LockError } from "../errors.ts";
import type { Holder, HolderView, KeyState } from "../model.ts";

export function emptyState(tenant: string, key: string): KeyState {
  return { tenant, key, fence: 0, limit: null, holders: [] };
}

/** A holder is live while the store's clock is before its expiry. */
export function isLive(holder: Holder, nowMs: number): boolean {
  return nowMs < holder.expiresAtMs;
}

/** R2: drops expired holders; returns whether anything changed. Never touches the fence. */
export function pruneExpired(state: KeyState, nowMs: number): boolean {
  const live = state.holders.filter((holder) => isLive(holder, nowMs));
  if (live.length === state.holders.length) return false;
  state.holders = live;
  if (live.length === 0) state.limit = null;
  return true;
}

/** Guards against the (astronomically unlikely) case of two keys sharing a key id. */
export function assertSameKey(state: KeyState, tenant: string, key: string): void {
  if (state.tenant !== tenant || state.key !== key) {
    throw new LockError("Internal", "key id collision: two keys map to one record");
  }
}

export function viewOf(holder: Holder): HolderView {
  return {
    token: holder.token,
    mode: holder.mode,
    permits: holder.permits,
    fence: holder.fence,
    acquiredAtMs: holder.acquiredAtMs,
    expiresAtMs: holder.expiresAtMs,
  };
}

/**
 * A copy for a transition to change: the holders array is new, the holders themselves are
 * shared, so transitions never change a holder in place (they replace it). With thousands
 * of holders (R9) this keeps a step's copy to one array of references.
 */
export function cloneState(state: KeyState): KeyState {
  return { ...state, holders: state.holders.slice() };
}
