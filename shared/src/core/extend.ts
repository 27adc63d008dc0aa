import type { ExtendResult, KeyState, LockRef } from "../model.ts";
import { pruneExpired } from "./state.ts";
import type { Outcome } from "./transition.ts";

/** R7: sets a live grant's expiry to now + ttlMs in the store's clock (mutates `state`). An expired grant stays lost. */
export function extendTransition(
  state: KeyState | null,
  ref: LockRef,
  ttlMs: number,
  nowMs: number,
): Outcome<ExtendResult> {
  const notHeld: ExtendResult = { ok: false, serverTimeMs: nowMs };
  if (state === null || state.tenant !== ref.tenant) return { result: notHeld, changed: false };
  const pruned = pruneExpired(state, nowMs);
  const index = state.holders.findIndex((h) => h.token === ref.token);
  const holder = state.holders[index];
  if (!holder) return { result: notHeld, changed: pruned };
  // A new object: holders are shared with the copy a transition started from (cloneState).
  const extended = { ...holder, expiresAtMs: nowMs + ttlMs };
  state.holders[index] = extended;
  return { result: { ok: true, expiresAtMs: extended.expiresAtMs, serverTimeMs: nowMs }, changed: true };
}
