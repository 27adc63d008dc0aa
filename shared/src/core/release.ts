import type { KeyState, LockRef, ReleaseResult } from "../model.ts";
import { pruneExpired } from "./state.ts";
import type { Outcome } from "./transition.ts";

/** R7: removes the grant named by `ref` if it is still live (mutates `state`). An expired grant is not found. */
export function releaseTransition(state: KeyState | null, ref: LockRef, nowMs: number): Outcome<ReleaseResult> {
  const notHeld = { ok: false, serverTimeMs: nowMs };
  if (state === null || state.tenant !== ref.tenant) return { result: notHeld, changed: false };
  const pruned = pruneExpired(state, nowMs);
  const index = state.holders.findIndex((h) => h.token === ref.token);
  if (index === -1) return { result: notHeld, changed: pruned };
  state.holders.splice(index, 1);
  if (state.holders.length === 0) state.limit = null;
  return { result: { ok: true, serverTimeMs: nowMs }, changed: true };
}
