/**
 * Decodes script replies. Scripts answer flat arrays led by a kind code; numbers arrive as
 * integers (fences and times never pass through Lua's tostring or JSON), strings as text.
 */
import type { AcquireResult, CapacityResult, HolderView } from "@holdfast/shared";
import { atCapacity, LockError } from "@holdfast/shared";

/** Kind codes of the scripts' replies (rules.lua.ts, acquire.ts, wait.ts). */
export const KIND = {
  locked: 0,
  granted: 1,
  limitMismatch: 2,
  idempotencyMismatch: 3,
  queued: 4,
  posted: 5,
  gone: 6,
  capacity: 7,
};

export function num(reply: unknown[], index: number): number {
  const value = reply[index];
  const parsed = typeof value === "number" ? value : Number(value);
  if (!Number.isSafeInteger(parsed)) throw new LockError("Internal", `malformed script reply at ${index}`);
  return parsed;
}

export function str(reply: unknown[], index: number): string {
  const value = reply[index];
  if (typeof value !== "string") throw new LockError("Internal", `malformed script reply at ${index}`);
  return value;
}

/** A holder as lookup and owns answer it: mode, permits, fence, acquired, expires from `at` on. */
export function holderAt(reply: unknown[], at: number, token: string): HolderView {
  return {
    token,
    mode: str(reply, at) === "x" ? "exclusive" : "shared",
    permits: num(reply, at + 1),
    fence: num(reply, at + 2),
    acquiredAtMs: num(reply, at + 3),
    expiresAtMs: num(reply, at + 4),
  };
}

export function limitOf(value: number): number | null {
  return value < 0 ? null : value;
}

/** An outcome the queue posted for a waiter: `g|token|fence|acq|exp|now`, `m|limit|now` or `i|now`. */
export function parseOutcome(text: string): AcquireResult {
  const parts = text.split("|");
  const n = (i: number) => {
    const value = Number(parts[i]);
    if (!Number.isSafeInteger(value)) throw new LockError("Internal", "malformed queue outcome");
    return value;
  };
  if (parts[0] === "g" && parts.length === 6) {
    return {
      ok: true,
      token: parts[1] as string,
      fence: n(2),
      acquiredAtMs: n(3),
      expiresAtMs: n(4),
      serverTimeMs: n(5),
    };
  }
  if (parts[0] === "i" && parts.length === 2) return { ok: false, reason: "idempotency-mismatch", serverTimeMs: n(1) };
  if (parts[0] === "m" && parts.length === 3) {
    return { ok: false, reason: "limit-mismatch", limit: limitOf(n(1)), serverTimeMs: n(2) };
  }
  throw new LockError("Internal", "malformed queue outcome");
}

/** R9: `{7, now, bound, max, retryAt}`; retryAt 0 when no expiry will make room (a full queue). */
export function capacityOf(reply: unknown[]): CapacityResult {
  return atCapacity(str(reply, 2), num(reply, 3), num(reply, 1), num(reply, 4));
}
