/**
 * Decodes the lock functions' jsonb replies (schema/functions.sql.ts): `k` says what they
 * are, `n` is the store time of the statement. Fences and times arrive as JSON numbers,
 * exact below 2^53 (fences have 15 digits).
 */
import { type AcquireResult, atCapacity, type HolderView, LockError, type QueueStatus } from "@holdfast/shared";

export type Reply = Record<string, unknown>;

export function num(reply: Reply, field: string): number {
  const value = reply[field];
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new LockError("Internal", `malformed lock reply: ${field}`);
  }
  return value;
}

export function str(reply: Reply, field: string): string {
  const value = reply[field];
  if (typeof value !== "string") throw new LockError("Internal", `malformed lock reply: ${field}`);
  return value;
}

export function limitOf(reply: Reply, field: string): number | null {
  return reply[field] === null || reply[field] === undefined ? null : num(reply, field);
}

export function holderOf(h: Reply): HolderView {
  return {
    token: str(h, "t"),
    mode: str(h, "m") === "x" ? "exclusive" : "shared",
    permits: num(h, "p"),
    fence: num(h, "f"),
    acquiredAtMs: num(h, "a"),
    expiresAtMs: num(h, "e"),
  };
}

/** An acquire's or a check's reply, or a pushed outcome. */
export function queueStatusOf(reply: Reply): QueueStatus {
  const serverTimeMs = num(reply, "n");
  switch (reply.k) {
    case "q":
      return { queued: true, serverTimeMs, retryAtMs: num(reply, "r"), rank: num(reply, "rank") };
    case "g":
    case "l":
    case "m":
    case "i":
    case "x":
    case "c":
      return { queued: false, result: resultOf(reply, serverTimeMs) };
    default:
      throw new LockError("Internal", `malformed lock reply: kind ${String(reply.k)}`);
  }
}

function resultOf(reply: Reply, serverTimeMs: number): AcquireResult {
  if (reply.k === "g") {
    return {
      ok: true,
      token: str(reply, "t"),
      fence: num(reply, "f"),
      acquiredAtMs: num(reply, "a"),
      expiresAtMs: num(reply, "e"),
      serverTimeMs,
    };
  }
  if (reply.k === "m") return { ok: false, reason: "limit-mismatch", limit: limitOf(reply, "l"), serverTimeMs };
  if (reply.k === "i") return { ok: false, reason: "idempotency-mismatch", serverTimeMs };
  if (reply.k === "c") return atCapacity(str(reply, "b"), num(reply, "x"), serverTimeMs, num(reply, "r"));
  // Locked, or gone from the queue (its deadline passed, it left).
  const retryAtMs = reply.r === undefined ? serverTimeMs : num(reply, "r");
  return { ok: false, reason: "locked", serverTimeMs, retryAtMs };
}
