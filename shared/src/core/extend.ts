import type { ExtendResult, KeyState, LockRef } from "../model.ts";
import type { Outcome } from "./acquire.ts";
import { pruneExpired } from "./state.ts";

/** Sets a live grant's expiry to now + ttlMs in the store's clock (mutates `state`). An expired grant stays lost. */
export function extendTransition(
  state: KeyState | null,
  ref: LockRef,
  ttlMs: number,
  nowMs: number,
): Outcome<ExtendResult> {
  const notHeld: ExtendResult = { ok: false, serverTimeMs: nowMs };
  if (state === null || state.tenant !== ref.tenant) return { result: notHeld, changed: false };
  const pruned = pruneExpired(state, nowMs);
  const holder = state.holders.find((h) => h.token === ref.token);
  if (!holder) return { result: notHeld, changed: pruned };
  holder.expiresAtMs = nowMs + ttlMs;
  return { result: { ok: true, expiresAtMs: holder.expiresAtMs, serverTimeMs: nowMs }, changed: true };
}
