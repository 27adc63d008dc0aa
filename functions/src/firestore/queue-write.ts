/**
 * What one step writes, found by comparing the record the core decided on with what was
 * read: the key document (always: its update, conditional on the read, is what makes the
 * whole batch atomic), and only the waiter documents that changed. A waiter that left the
 * queue is deleted, or, if the queue served it, keeps the outcome for its callers' listeners.
 * A waiter of the old format (in the key document's `waiters`) gets its document now.
 */
import { type DocumentReference, FieldValue, Timestamp, type WriteBatch } from "@google-cloud/firestore";
import {
  type AcquireResult,
  comesAfter,
  headRetryAt,
  type KeyBounds,
  type QueuedKeyState,
  QueueNotLoaded,
  type StoredWaiter,
} from "@holdfast/shared";
import type { FirestoreContext } from "./context.ts";
import { keyFields } from "./document.ts";
import { FRONT_SIZE, type Loaded } from "./queue-load.ts";
import { callerFields, queuedFields, servedOutcome, waiterDocId } from "./waiter-document.ts";

/** Served outcomes stay a little past their keeping time before a TTL policy may delete them. */
const TTL_SLACK_MS = 10 * 60_000;

export interface Plan {
  /** The key document's fields. */
  key: Record<string, unknown>;
  /** Writes to waiter documents, one per document. */
  waiters: Map<DocumentReference, { op: "create" | "update" | "delete"; data: Record<string, unknown> | undefined }>;
}

/**
 * Null when the step changed nothing (it is then the read alone). `passed`: every waiter
 * that was in the queue at some point of the step (a group's steps may queue a waiter and
 * serve it before anything is written).
 */
export function planWrite(
  ctx: FirestoreContext,
  keyId: string,
  loaded: Loaded,
  final: QueuedKeyState,
  nowMs: number,
  bounds: KeyBounds,
  passed: Iterable<StoredWaiter> = loaded.record?.waiters ?? [],
): Plan | null {
  const initial = loaded.record;
  const collection = ctx.waitersOf(keyId);
  const ref = (token: string) => collection.doc(waiterDocId(token));
  const writes: Plan["waiters"] = new Map();
  const refs = new Map<string, DocumentReference>();
  const put = (token: string, op: "create" | "update" | "delete", data?: Record<string, unknown>) => {
    const at = refs.get(token) ?? ref(token);
    refs.set(token, at);
    const before = writes.get(at);
    writes.set(at, { op, data: before?.op === op ? { ...before.data, ...data } : data });
  };

  const queued = new Map(final.waiters.map((w) => [w.token, w]));
  // The latest version of each waiter the step saw (a retry may have joined it before it was served).
  const latest = new Map([...passed].map((w) => [w.token, w]));
  const held = new Set(initial?.holders.map((h) => h.token));
  const initialPosted = new Set(initial?.posted.map((p) => p.caller));
  const posted = new Map(final.posted.filter((p) => !initialPosted.has(p.caller)).map((p) => [p.caller, p.outcome]));
  const servedTo = (w: StoredWaiter): AcquireResult | undefined => {
    for (const caller of Object.keys(w.callers)) {
      const outcome = posted.get(caller);
      if (outcome) return outcome;
    }
    const holder = held.has(w.token) ? undefined : final.holders.find((h) => h.token === w.token);
    if (!holder) return undefined;
    const { token, fence, acquiredAtMs, expiresAtMs } = holder;
    return { ok: true, token, fence, acquiredAtMs, expiresAtMs, serverTimeMs: nowMs };
  };
  const served = (w: StoredWaiter, outcome: AcquireResult) => {
    const live = Object.fromEntries(Object.entries(w.callers).filter(([, deadline]) => deadline > nowMs));
    const kept = servedOutcome({ ...w, callers: live }, outcome, nowMs);
    return {
      ...callerFields({ ...w, callers: live }),
      outcome: kept.outcome,
      servedAtMs: kept.atMs,
      keepUntilMs: kept.keepUntilMs,
      expireAt: Timestamp.fromMillis(kept.keepUntilMs + TTL_SLACK_MS),
    };
  };

  // Waiters read from their documents: changed callers, served, or gone.
  for (const [token, doc] of loaded.docs) {
    if (doc.served) continue;
    const now = queued.get(token);
    if (now) {
      if (JSON.stringify(now.callers) !== JSON.stringify(doc.waiter.callers)) put(token, "update", callerFields(now));
      continue;
    }
    const waiter = latest.get(token) ?? doc.waiter;
    const outcome = servedTo(waiter);
    if (!outcome) put(token, "delete");
    else
      put(token, "update", {
        ...served(waiter, outcome),
        order: FieldValue.delete(),
        queuedIdem: FieldValue.delete(),
      });
  }
  // Waiters served without a document of their own: of the old format, or queued by an
  // earlier step of the same group. Their callers find the outcome in a document.
  for (const w of latest.values()) {
    if (loaded.docs.has(w.token) || queued.has(w.token)) continue;
    const outcome = servedTo(w);
    if (outcome) put(w.token, "create", { ...w, ...served(w, outcome) });
  }

  // The head's retry time, kept current in its document, and given to new waiters as a hint.
  let retryAtMs: number | undefined;
  try {
    retryAtMs = headRetryAt(final, nowMs, bounds);
  } catch (error) {
    if (!(error instanceof QueueNotLoaded)) throw error;
  }
  final.waiters.forEach((w, rank) => {
    const doc = loaded.docs.get(w.token);
    if (doc === undefined || doc.served)
      put(w.token, "create", queuedFields(w, { retryAtMs: retryAtMs ?? nowMs, rank }));
  });
  const head = final.waiters.find((w) => Object.values(w.callers).some((deadline) => deadline > nowMs));
  let headRetry = head ? loaded.headRetry : null;
  if (head && retryAtMs !== undefined && (headRetry?.token !== head.token || headRetry.atMs !== retryAtMs)) {
    const headDoc = loaded.docs.get(head.token);
    if (headDoc && !headDoc.served) put(head.token, "update", { retryAtMs });
    headRetry = { token: head.token, atMs: retryAtMs };
  }

  // The front: the waiters known to come first (up to the frontier), as many as it keeps.
  const frontier = final.frontier;
  const front = final.waiters.filter((w) => frontier === undefined || !comesAfter(w, frontier)).slice(0, FRONT_SIZE);
  const keptPosted = final.posted.filter((p) => loaded.keyPosted.has(p.caller));
  const key = keyFields(final, keptPosted, front, headRetry);
  const before =
    initial &&
    keyFields(
      initial,
      initial.posted.filter((p) => loaded.keyPosted.has(p.caller)),
      loaded.front,
      loaded.headRetry,
    );
  if (writes.size === 0 && !loaded.legacy && JSON.stringify(key) === JSON.stringify(before)) return null;
  if (loaded.legacy) Object.assign(key, { waiters: FieldValue.delete(), ops: FieldValue.delete() });
  return { key, waiters: writes };
}

/** Puts the plan in a batch: the key document conditional on the read (or created), then the waiters. */
export function batchOf(ctx: FirestoreContext, keyRef: DocumentReference, loaded: Loaded, plan: Plan): WriteBatch {
  const batch = ctx.firestore.batch();
  const read = loaded.snapshot;
  if (!read.exists || read.updateTime === undefined) batch.create(keyRef, plan.key);
  else batch.update(keyRef, plan.key, { lastUpdateTime: read.updateTime });
  for (const [ref, { op, data }] of plan.waiters) {
    if (op === "delete") batch.delete(ref);
    else if (op === "create") batch.create(ref, data ?? {});
    else batch.update(ref, data ?? {});
  }
  return batch;
}
