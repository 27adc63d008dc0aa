import type { KeyState, LockRef, LookupResult, OwnsResult } from "../model.ts";
import { isLive, viewOf } from "./state.ts";

/** R7, read-only: whether `ref` names a live grant, and which. */
export function ownsOf(state: KeyState | null, ref: LockRef, nowMs: number): OwnsResult {
  if (state === null || state.tenant !== ref.tenant) return { owned: false, serverTimeMs: nowMs };
  const holder = state.holders.find((h) => h.token === ref.token && isLive(h, nowMs));
  if (!holder) return { owned: false, serverTimeMs: nowMs };
  return { owned: true, key: state.key, holder: viewOf(holder), serverTimeMs: nowMs };
}

/** R7, read-only: the live holders of a key and its fence counter. */
export function lookupOf(state: KeyState | null, nowMs: number): LookupResult {
  if (state === null) return { fence: 0, limit: null, holders: [], serverTimeMs: nowMs };
  const holders = state.holders.filter((h) => isLive(h, nowMs)).map(viewOf);
  return {
    fence: state.fence,
    limit: holders.length > 0 ? state.limit : null,
    holders,
    serverTimeMs: nowMs,
  };
}
