/**
 * R8 of docs/design.md ("Queue") for stores that keep a key's queue in its record and
 * run JavaScript in their atomic step (Firestore): pure functions over a copy of the
 * record, which the store writes back only if they changed it. They restate exactly what
 * the Neon SQL (edge/src/neon/schema/functions.sql.ts) does, and the waiting contract
 * holds both to it. Grants go through the core's acquire transition (R2–R6).
 */
import { atCapacity, type KeyBounds, MAX_CALLERS_PER_WAITER } from "../bounds.ts";
import { MAX_FENCE } from "../fence.ts";
import type { AcquireRequest, AcquireResult, KeyState, LockRef, Mode, QueueStatus } from "../model.ts";
import { acquireTransition, blockedUntil, sameRequest } from "./acquire.ts";
import { extendTransition } from "./extend.ts";
import { releaseTransition } from "./release.ts";
import { assertSameKey, cloneState, emptyState, pruneExpired } from "./state.ts";

/** A queued request. Its callers are the request and the retries that joined it, each with its deadline (store time). */
export interface StoredWaiter {
  token: string;
  mode: Mode;
  permits: number;
  limit: number | null;
  ttlMs: number;
  priority: number;
  /** Arrival order within the key. */
  seq: number;
  idempotencyKey?: string;
  callers: Record<string, number>;
}

/**
 * What the queue decided for a caller that is not itself the holder it got: a retry that
 * joined a waiter, or a limit mismatch. (A waiter's own grant is the holder with its token.)
 */
export interface PostedOutcome {
  caller: string;
  outcome: AcquireResult;
  keepUntilMs: number;
}

export interface QueuedKeyState extends KeyState {
  /**
   * The queue in order (priority, then arrival). A store that loads only part of it
   * (Firestore) gives its head up to `frontier`, then any later waiters it needed.
   */
  waiters: StoredWaiter[];
  queueSeq: number;
  posted: PostedOutcome[];
  /** How many waiters are queued in all, for a store that loads only part of the queue (else `waiters.length`). */
  waiting?: number;
  /**
   * The last waiter of the loaded head when more follow it in the store: a waiter after it
   * in `waiters` may have unloaded waiters ahead of it, so it cannot be taken for the head.
   */
  frontier?: { priority: number; seq: number };
}

/**
 * Thrown when a step needs the queue's head past what the store loaded: the store loads
 * a longer head and decides again (nothing was written).
 */
export class QueueNotLoaded extends Error {
  constructor() {
    super("the step needs more of the queue's head than was loaded");
  }
}

/** Whether `w` comes after the position `at` in queue order (priority first, then arrival). */
export const comesAfter = (w: { priority: number; seq: number }, at: { priority: number; seq: number }) =>
  w.priority < at.priority || (w.priority === at.priority && w.seq > at.seq);

/** The queue's head; throws QueueNotLoaded when the store did not load it. */
function headOf(state: QueuedKeyState): StoredWaiter | undefined {
  const head = state.waiters[0];
  const frontier = state.frontier;
  if (frontier && (head === undefined ? queueLength(state) > 0 : comesAfter(head, frontier))) {
    throw new QueueNotLoaded();
  }
  return head;
}

export const queueLength = (state: QueuedKeyState) => state.waiting ?? state.waiters.length;

function removeWaiter(state: QueuedKeyState, index: number): void {
  state.waiters.splice(index, 1);
  if (state.waiting !== undefined) state.waiting -= 1;
}

/** How long a posted outcome is kept past its caller's deadline, for a caller that missed it. */
const POSTED_KEEP_MS = 60_000;

export function emptyQueuedState(tenant: string, key: string): QueuedKeyState {
  return { ...emptyState(tenant, key), waiters: [], queueSeq: 0, posted: [] };
}

export function cloneQueuedState(state: QueuedKeyState): QueuedKeyState {
  return {
    ...cloneState(state),
    waiters: state.waiters.map((w) => ({ ...w, callers: { ...w.callers } })),
    queueSeq: state.queueSeq,
    posted: state.posted.map((p) => ({ ...p })),
    ...(state.waiting === undefined ? {} : { waiting: state.waiting }),
    ...(state.frontier === undefined ? {} : { frontier: { ...state.frontier } }),
  };
}

function requestOf(state: KeyState, waiter: StoredWaiter): AcquireRequest {
  return {
    tenant: state.tenant,
    key: state.key,
    keyId: "",
    token: waiter.token,
    ttlMs: waiter.ttlMs,
    mode: waiter.mode,
    permits: waiter.permits,
    limit: waiter.limit,
    ...(waiter.idempotencyKey === undefined ? {} : { idempotencyKey: waiter.idempotencyKey }),
  };
}

/**
 * Serves the queue from its head while the rules grant it; callers past their deadline
 * are dropped. Returns the head's retry time (0 when nothing blocks a waiter).
 */
export function serveQueue(state: QueuedKeyState, nowMs: number, bounds: KeyBounds): number {
  state.posted = state.posted.filter((p) => p.keepUntilMs > nowMs);
  for (;;) {
    const head = headOf(state);
    if (!head) return 0;
    const live = Object.entries(head.callers).filter(([, deadline]) => deadline > nowMs);
    if (live.length === 0) {
      removeWaiter(state, 0);
      continue;
    }
    head.callers = Object.fromEntries(live);
    if (state.fence >= MAX_FENCE) return 0;
    const { result } = acquireTransition(state, requestOf(state, head), nowMs, bounds);
    const blocked = blockedUntil(result);
    if (blocked !== undefined) return blocked;
    removeWaiter(state, 0);
    for (const [caller, deadline] of live) {
      if (result.ok && caller === result.token) continue;
      state.posted.push({ caller, outcome: result, keepUntilMs: Math.max(nowMs, deadline) + POSTED_KEEP_MS });
    }
  }
}

/** What the queue decided for `caller`, as of now: a grant that expired before its caller came for it is no grant. */
export function outcomeFor(state: QueuedKeyState, caller: string, nowMs: number): AcquireResult | undefined {
  const posted = state.posted.find((p) => p.caller === caller)?.outcome;
  const token = posted ? (posted.ok ? posted.token : undefined) : caller;
  if (posted && !posted.ok) return { ...posted, serverTimeMs: nowMs };
  const holder = state.holders.find((h) => h.token === token && nowMs < h.expiresAtMs);
  if (holder) {
    const { fence, acquiredAtMs, expiresAtMs } = holder;
    return { ok: true, token: holder.token, fence, acquiredAtMs, expiresAtMs, serverTimeMs: nowMs };
  }
  return posted ? locked(nowMs) : undefined;
}

/** "locked", to retry at `retryAtMs` (by default at once: the queue will say when). */
export function locked(nowMs: number, retryAtMs = nowMs): AcquireResult {
  return { ok: false, reason: "locked", serverTimeMs: nowMs, retryAtMs };
}

function placeOf(state: QueuedKeyState, caller: string): number {
  return state.waiters.findIndex((w) => caller in w.callers);
}

const queued = (nowMs: number, retryAtMs: number, rank: number): QueueStatus => ({
  queued: true,
  serverTimeMs: nowMs,
  retryAtMs,
  rank,
});
const final = (result: AcquireResult): QueueStatus => ({ queued: false, result });

/** An acquire that may wait (`waitMs` > 0) or tries once: a grant or a refusal now, or a place in the queue. */
export function queuedAcquire(
  state: QueuedKeyState,
  request: AcquireRequest,
  waitMs: number,
  nowMs: number,
  bounds: KeyBounds,
): QueueStatus {
  assertSameKey(state, request.tenant, request.key);
  pruneExpired(state, nowMs);
  // The expiry path: waiters whose blockers have gone are served before anyone new.
  let retryAtMs = serveQueue(state, nowMs, bounds);
  // This very request, repeated (a lost answer).
  const mine = outcomeFor(state, request.token, nowMs);
  if (mine) return final(mine);
  const place = placeOf(state, request.token);
  if (place >= 0) return queued(nowMs, retryAtMs, place);

  if (request.idempotencyKey !== undefined) {
    // R3 for a live holder (the core decides it); a queued original is joined by a
    // waiting retry, one grant for both, and a retry that tries once is locked.
    if (state.holders.some((h) => h.idempotencyKey === request.idempotencyKey)) {
      return final(acquireTransition(state, request, nowMs, bounds).result);
    }
    const index = state.waiters.findIndex((w) => w.idempotencyKey === request.idempotencyKey);
    const original = state.waiters[index];
    if (original) {
      if (!sameRequest(original, request, original.limit))
        return final({ ok: false, reason: "idempotency-mismatch", serverTimeMs: nowMs });
      if (waitMs <= 0) return final(locked(nowMs));
      // Callers past their deadline are gone (as the Lua and the SQL count them).
      const live = Object.values(original.callers).filter((deadline) => deadline > nowMs).length;
      if (live >= MAX_CALLERS_PER_WAITER) return final(atCapacity("callers", MAX_CALLERS_PER_WAITER, nowMs));
      original.callers[request.token] = nowMs + waitMs;
      return queued(nowMs, retryAtMs, index);
    }
  }

  // R4 and R5, and R8's fairness: ahead of the queue only with a strictly higher priority.
  const preview = acquireTransition(cloneState(state), request, nowMs, bounds).result;
  const blocked = preview.ok ? 0 : blockedUntil(preview);
  if (blocked === undefined) return final(preview);
  const priority = request.priority ?? 0;
  const head = headOf(state);
  const behind = head !== undefined && priority <= head.priority;
  // R9: nobody ahead, and the key is full: refused clearly rather than queued behind nobody.
  if (!behind && !preview.ok && preview.reason === "capacity") return final(preview);
  if (preview.ok && !behind) return final(acquireTransition(state, request, nowMs, bounds).result);
  if (waitMs <= 0) return final(locked(nowMs, blocked > 0 ? blocked : nowMs));
  if (queueLength(state) >= bounds.waiters) return final(atCapacity("waiters", bounds.waiters, nowMs));

  state.queueSeq += 1;
  const waiter: StoredWaiter = {
    token: request.token,
    mode: request.mode,
    permits: request.permits,
    limit: request.limit,
    ttlMs: request.ttlMs,
    priority,
    seq: state.queueSeq,
    ...(request.idempotencyKey === undefined ? {} : { idempotencyKey: request.idempotencyKey }),
    callers: { [request.token]: nowMs + waitMs },
  };
  // Higher priority first, then arrival.
  const at = state.waiters.findIndex((w) => w.priority < priority);
  if (at === -1) state.waiters.push(waiter);
  else state.waiters.splice(at, 0, waiter);
  if (state.waiting !== undefined) state.waiting += 1;
  if (!behind) retryAtMs = blocked;
  return queued(nowMs, retryAtMs, placeOf(state, request.token));
}

/** A waiter asks where it stands (after subscribing, at its blocker's expiry), or leaves. */
export function queueCheck(
  state: QueuedKeyState,
  caller: string,
  leave: boolean,
  nowMs: number,
  bounds: KeyBounds,
): QueueStatus {
  pruneExpired(state, nowMs);
  let retryAtMs = serveQueue(state, nowMs, bounds);
  const outcome = outcomeFor(state, caller, nowMs);
  if (outcome) return final(outcome);
  const place = placeOf(state, caller);
  const waiter = state.waiters[place];
  // Gone from the queue: its deadline passed, or it left.
  if (!waiter) return final(locked(nowMs));
  if (!leave) return queued(nowMs, retryAtMs, place);
  delete waiter.callers[caller];
  if (Object.keys(waiter.callers).length === 0) {
    removeWaiter(state, place);
    // A head that leaves may let the compatible waiters behind it through at once.
    retryAtMs = serveQueue(state, nowMs, bounds);
  }
  return final(locked(nowMs, retryAtMs || nowMs));
}

/** R7's release, then the queue is served in the same step. Another tenant's lockId finds nothing. */
export function releaseAndServe(state: QueuedKeyState | null, ref: LockRef, nowMs: number, bounds: KeyBounds) {
  const outcome = releaseTransition(state, ref, nowMs);
  if (state && state.tenant === ref.tenant) serveQueue(state, nowMs, bounds);
  return outcome.result;
}

/** R7's extend (a shorter lease may let the head in sooner), then the queue is served. */
export function extendAndServe(
  state: QueuedKeyState | null,
  ref: LockRef,
  ttlMs: number,
  nowMs: number,
  bounds: KeyBounds,
) {
  const outcome = extendTransition(state, ref, ttlMs, nowMs);
  if (state && state.tenant === ref.tenant) serveQueue(state, nowMs, bounds);
  return outcome.result;
}

/** Read-only: when the head's blockers expire (now, if nothing blocks it; 0 without a queue). */
export function headRetryAt(state: QueuedKeyState, nowMs: number, bounds: KeyBounds): number {
  const preview = cloneQueuedState(state);
  pruneExpired(preview, nowMs);
  // A head whose callers have all gone is dropped by the next step: the one behind it counts.
  for (let head = headOf(preview); head; head = headOf(preview)) {
    if (Object.values(head.callers).some((deadline) => deadline > nowMs)) break;
    removeWaiter(preview, 0);
  }
  const head = headOf(preview);
  if (!head) return 0;
  const { result } = acquireTransition(preview, requestOf(preview, head), nowMs, bounds);
  return blockedUntil(result) ?? nowMs;
}

/** Read-only, for a waiter watching the record: its outcome if the queue served it, else the head's retry time. */
export function waiterView(
  state: QueuedKeyState | null,
  caller: string,
  nowMs: number,
  bounds: KeyBounds,
): { outcome: AcquireResult } | { retryAtMs: number } {
  if (state === null) return { retryAtMs: 0 };
  const outcome = outcomeFor(state, caller, nowMs);
  if (outcome?.ok || (outcome && outcome.reason !== "locked")) return { outcome };
  return { retryAtMs: headRetryAt(state, nowMs, bounds) };
}

/**
 * Read-only: what a check would answer, from a record as it was read (a waiter's first
 * snapshot), without serving anyone; undefined when only a check can tell (the caller is
 * neither served nor queued).
 */
export function queueStatusIn(
  state: QueuedKeyState | null,
  caller: string,
  nowMs: number,
  bounds: KeyBounds,
): QueueStatus | undefined {
  if (state === null) return undefined;
  const outcome = outcomeFor(state, caller, nowMs);
  if (outcome) return final(outcome);
  const place = placeOf(state, caller);
  return place < 0 ? undefined : queued(nowMs, headRetryAt(state, nowMs, bounds), place);
}
