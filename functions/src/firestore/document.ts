/**
 * The key's document, `<collection>/k<keyId>`: the record of the core's model (tenant,
 * key, fence, limit, holders), the queue's arrival counter and `waiting`, how many
 * waiters its subcollection `w` queues (waiter-document.ts). It stays small whatever the
 * queue, so rewriting it whole costs the same at 10 waiters as at 10,000. The id is
 * prefixed because a keyId may match `__.*__`, which Firestore reserves. The fence is
 * never reset and the document never deleted, so fences never repeat.
 *
 * Documents written before the queue moved out keep their waiters in a `waiters` array
 * and posted outcomes in `posted` (and write markers in `ops`): they are read as they
 * are, and the next write moves the waiters into the subcollection (queue-write.ts).
 */

import type { DocumentSnapshot } from "@google-cloud/firestore";
import {
  type AcquireResult,
  type Holder,
  LockError,
  type PostedOutcome,
  type QueuedKeyState,
  type StoredWaiter,
} from "@holdfast/shared";

export const docIdOf = (keyId: string) => `k${keyId}`;

export function malformed(field: string): never {
  throw new LockError("Internal", `malformed lock document: ${field}`);
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null;

export function num(data: Record<string, unknown>, field: string): number {
  const value = data[field];
  return typeof value === "number" && Number.isSafeInteger(value) ? value : malformed(field);
}

export function str(data: Record<string, unknown>, field: string): string {
  const value = data[field];
  return typeof value === "string" ? value : malformed(field);
}

export function limitOf(data: Record<string, unknown>, field: string): number | null {
  return data[field] === null || data[field] === undefined ? null : num(data, field);
}

export function modeOf(data: Record<string, unknown>): "exclusive" | "shared" {
  const mode = data.mode;
  return mode === "exclusive" || mode === "shared" ? mode : malformed("mode");
}

function list(data: Record<string, unknown>, field: string): Record<string, unknown>[] {
  const value = data[field] ?? [];
  return Array.isArray(value) && value.every(isObject) ? value : malformed(field);
}

export const idempotency = (data: Record<string, unknown>) =>
  typeof data.idempotencyKey === "string" ? { idempotencyKey: data.idempotencyKey } : {};

function holderOf(h: Record<string, unknown>): Holder {
  return {
    token: str(h, "token"),
    mode: modeOf(h),
    permits: num(h, "permits"),
    fence: num(h, "fence"),
    acquiredAtMs: num(h, "acquiredAtMs"),
    expiresAtMs: num(h, "expiresAtMs"),
    ...idempotency(h),
    ...(typeof h.ttlMs === "number" ? { ttlMs: h.ttlMs } : {}),
  };
}

export function callersOf(w: Record<string, unknown>): Record<string, number> {
  const callers = isObject(w.callers) ? w.callers : malformed("callers");
  return Object.fromEntries(Object.keys(callers).map((caller) => [caller, num(callers, caller)]));
}

/** A waiter as the old format kept it in the key's `waiters` array (and as a waiter document holds it). */
export function waiterOf(w: Record<string, unknown>): StoredWaiter {
  return {
    token: str(w, "token"),
    mode: modeOf(w),
    permits: num(w, "permits"),
    limit: limitOf(w, "limit"),
    ttlMs: num(w, "ttlMs"),
    priority: num(w, "priority"),
    seq: num(w, "seq"),
    ...idempotency(w),
    callers: callersOf(w),
  };
}

function postedOf(p: Record<string, unknown>): PostedOutcome {
  if (!isObject(p.outcome)) malformed("posted");
  return { caller: str(p, "caller"), outcome: p.outcome as AcquireResult, keepUntilMs: num(p, "keepUntilMs") };
}

/** The head's retry time as last written into its waiter document (its listener wakes then). */
export interface HeadRetry {
  token: string;
  atMs: number;
}

export interface KeyDocument {
  /** The record with the old format's waiters, if any; `waiting` counts the subcollection's too. */
  record: QueuedKeyState | null;
  /**
   * The first waiters of the queue, in order (at most FRONT_SIZE): copies of their
   * documents, so that a step that serves or passes the head needs no query.
   */
  front: StoredWaiter[];
  headRetry: HeadRetry | null;
  /** The document still has fields of the old format (`waiters`, `ops`), which the next write removes. */
  legacy: boolean;
}

export function readKeyDocument(snapshot: DocumentSnapshot): KeyDocument {
  const data = snapshot.data();
  if (!snapshot.exists || data === undefined) return { record: null, legacy: false, front: [], headRetry: null };
  const inDocument = list(data, "waiters").map(waiterOf);
  const record: QueuedKeyState = {
    tenant: str(data, "tenant"),
    key: str(data, "key"),
    fence: num(data, "fence"),
    limit: limitOf(data, "limit"),
    holders: list(data, "holders").map(holderOf),
    waiters: inDocument,
    queueSeq: num(data, "queueSeq"),
    posted: list(data, "posted").map(postedOf),
    waiting: (typeof data.waiting === "number" ? data.waiting : 0) + inDocument.length,
  };
  const headRetry = isObject(data.headRetry)
    ? { token: str(data.headRetry, "token"), atMs: num(data.headRetry, "atMs") }
    : null;
  return { record, legacy: "waiters" in data || "ops" in data, front: list(data, "front").map(waiterOf), headRetry };
}

/** The key document's own fields (no `undefined` anywhere: Firestore refuses it). */
export function keyFields(
  record: QueuedKeyState,
  posted: PostedOutcome[],
  front: StoredWaiter[],
  headRetry: HeadRetry | null,
): Record<string, unknown> {
  const { tenant, key, fence, limit, holders, queueSeq } = record;
  const waiting = record.waiting ?? record.waiters.length;
  return plain({ tenant, key, fence, limit, holders, queueSeq, waiting, front, headRetry, posted });
}

/** A JSON copy: drops `undefined` fields, which Firestore refuses. */
export const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
