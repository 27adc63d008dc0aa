/**
 * One Firestore document per (tenant, key), `<collection>/k<keyId>`: the record of the
 * core's model (fence, limit, holders) with its queue (waiters, posted outcomes) and the
 * markers of its recent writes (`ops`), stored as plain fields. The id is prefixed because a
 * keyId may match `__.*__`, which Firestore reserves. The fence is never reset and the
 * document never deleted, so fences never repeat.
 */

import type { DocumentData, DocumentSnapshot } from "@google-cloud/firestore";
import {
  type AcquireResult,
  type Holder,
  LockError,
  type PostedOutcome,
  type QueuedKeyState,
  type StoredWaiter,
} from "@holdfast/shared";

export const docIdOf = (keyId: string) => `k${keyId}`;

/** The id and result of a write that changed the document: a re-sent write finds its own result. */
export interface WriteMarker {
  id: string;
  result: unknown;
  /** Store time of the write. */
  atMs: number;
}

export interface LockDocument {
  record: QueuedKeyState | null;
  /** Markers of the recent writes, oldest first. */
  ops: WriteMarker[];
}

/** How many write markers a document keeps, and for how long (store time). */
const MARKERS_KEPT = 16;
const MARKER_KEEP_MS = 120_000;

function malformed(field: string): never {
  throw new LockError("Internal", `malformed lock document: ${field}`);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;

function num(data: Record<string, unknown>, field: string): number {
  const value = data[field];
  return typeof value === "number" && Number.isSafeInteger(value) ? value : malformed(field);
}

function str(data: Record<string, unknown>, field: string): string {
  const value = data[field];
  return typeof value === "string" ? value : malformed(field);
}

function limitOf(data: Record<string, unknown>, field: string): number | null {
  return data[field] === null || data[field] === undefined ? null : num(data, field);
}

function modeOf(data: Record<string, unknown>): "exclusive" | "shared" {
  const mode = data.mode;
  return mode === "exclusive" || mode === "shared" ? mode : malformed("mode");
}

function list(data: Record<string, unknown>, field: string): Record<string, unknown>[] {
  const value = data[field] ?? [];
  return Array.isArray(value) && value.every(isObject) ? value : malformed(field);
}

const idempotency = (data: Record<string, unknown>) =>
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

function waiterOf(w: Record<string, unknown>): StoredWaiter {
  const callers = isObject(w.callers) ? w.callers : malformed("callers");
  return {
    token: str(w, "token"),
    mode: modeOf(w),
    permits: num(w, "permits"),
    limit: limitOf(w, "limit"),
    ttlMs: num(w, "ttlMs"),
    priority: num(w, "priority"),
    seq: num(w, "seq"),
    ...idempotency(w),
    callers: Object.fromEntries(Object.keys(callers).map((caller) => [caller, num(callers, caller)])),
  };
}

function postedOf(p: Record<string, unknown>): PostedOutcome {
  if (!isObject(p.outcome)) malformed("posted");
  return { caller: str(p, "caller"), outcome: p.outcome as AcquireResult, keepUntilMs: num(p, "keepUntilMs") };
}

export function readDocument(snapshot: DocumentSnapshot): LockDocument {
  const data = snapshot.data();
  if (!snapshot.exists || data === undefined) return { record: null, ops: [] };
  const ops = (Array.isArray(data.ops) ? data.ops : []).flatMap((op: unknown) =>
    isObject(op) && typeof op.id === "string" && typeof op.atMs === "number"
      ? [{ id: op.id, result: op.result, atMs: op.atMs }]
      : [],
  );
  const record: QueuedKeyState = {
    tenant: str(data, "tenant"),
    key: str(data, "key"),
    fence: num(data, "fence"),
    limit: limitOf(data, "limit"),
    holders: list(data, "holders").map(holderOf),
    waiters: list(data, "waiters").map(waiterOf),
    queueSeq: num(data, "queueSeq"),
    posted: list(data, "posted").map(postedOf),
  };
  return { record, ops };
}

/** The fields to write, with the newest markers (no `undefined` anywhere: Firestore refuses it). */
export function documentData(record: QueuedKeyState, ops: WriteMarker[]): DocumentData {
  const newest = ops.at(-1)?.atMs ?? 0;
  const kept = ops.filter((op) => op.atMs > newest - MARKER_KEEP_MS).slice(-MARKERS_KEPT);
  return JSON.parse(JSON.stringify({ ...record, ops: kept })) as DocumentData;
}

/** Whether an operation changed the record: an unchanged one is not written. */
export function sameRecord(a: QueuedKeyState | null, b: QueuedKeyState | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
