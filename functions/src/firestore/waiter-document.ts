/**
 * One document per queued request in the key document's subcollection `w`, id `w<token>`:
 * the request (mode, permits, limit, TTL, priority, arrival `seq`, idempotency key) and
 * its callers (the request and the retries that joined it, each with its deadline).
 *
 * - `order` sorts the queue with one single-field index (Firestore's automatic one, no
 *   composite index to deploy): priority descending, then arrival. Only queued waiters
 *   have it, so the head of the queue is `orderBy("order").limit(n)`.
 * - `queuedIdem` (queued waiters only) finds the waiter a retry joins; `callerTokens`
 *   finds the waiter of a caller (a retry's token is not its waiter's).
 * - Once served, the document keeps the outcome for its callers (`outcome`, `servedAtMs`)
 *   until `keepUntilMs`, which is where each caller's listener sees it; `expireAt` is
 *   for a Firestore TTL policy, which deletes it later (a served document is never read
 *   as queued, so an old one costs storage, never a decision).
 * - `retryAtMs` and `rank`: where the waiter stood when it was queued, and for the head
 *   the earliest moment its blockers can expire, kept current by every step that moves
 *   it, so that its listener wakes it then (a shorter lease, a new head).
 */
import { type AcquireResult, MAX_PRIORITY, type StoredWaiter } from "@holdfast/shared";
import { isObject, malformed, num, plain, waiterOf } from "./document.ts";

export const waiterDocId = (token: string) => `w${token}`;

/** Sorts as the queue does: higher priority first, then arrival. */
export function orderOf(w: { priority: number; seq: number }): string {
  return `${String(MAX_PRIORITY - w.priority).padStart(7, "0")}:${String(w.seq).padStart(15, "0")}`;
}

/** How long a served waiter's outcome is kept past its callers' deadlines, as the core keeps posted outcomes. */
export const SERVED_KEEP_MS = 60_000;

export interface WaiterDocument {
  waiter: StoredWaiter;
  /** Set once the queue served it: the grant or refusal its callers are answered. */
  served?: { outcome: AcquireResult; atMs: number; keepUntilMs: number };
  retryAtMs?: number;
  rank?: number;
}

export function readWaiterDocument(data: Record<string, unknown>): WaiterDocument {
  const waiter = waiterOf(data);
  const hints = {
    ...(typeof data.retryAtMs === "number" ? { retryAtMs: data.retryAtMs } : {}),
    ...(typeof data.rank === "number" ? { rank: data.rank } : {}),
  };
  if (data.outcome === undefined) return { waiter, ...hints };
  if (!isObject(data.outcome)) malformed("outcome");
  const served = {
    outcome: data.outcome as AcquireResult,
    atMs: num(data, "servedAtMs"),
    keepUntilMs: num(data, "keepUntilMs"),
  };
  return { waiter, served, ...hints };
}

/** A queued waiter's fields. */
export function queuedFields(w: StoredWaiter, hints: { retryAtMs: number; rank: number }) {
  return plain({
    ...w,
    callerTokens: Object.keys(w.callers),
    order: orderOf(w),
    ...(w.idempotencyKey === undefined ? {} : { queuedIdem: w.idempotencyKey }),
    ...hints,
  });
}

/** What changes when only a waiter's callers changed (a retry joined, a caller left or its deadline passed). */
export const callerFields = (w: StoredWaiter) => plain({ callers: w.callers, callerTokens: Object.keys(w.callers) });

/** The outcome the queue decided for a waiter's callers, kept for them until a minute past the last deadline. */
export function servedOutcome(w: StoredWaiter, outcome: AcquireResult, nowMs: number) {
  const lastDeadline = Math.max(nowMs, ...Object.values(w.callers));
  return { outcome: plain(outcome), atMs: nowMs, keepUntilMs: lastDeadline + SERVED_KEEP_MS };
}
