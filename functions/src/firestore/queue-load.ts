/**
 * What one step reads: the key document first, then only the parts of the queue the step
 * can touch, in parallel: its head (the first `headSize` waiters in queue order), the
 * waiter of a caller (`callerTokens`), and the queued waiter of an idempotency key. The
 * queries run after the key document's read, and every change to the subcollection is
 * written in one batch with the key document, on condition that the key document is
 * unchanged since that read: so if the step's write lands, nothing it read had changed.
 */
import type { DocumentSnapshot, QuerySnapshot } from "@google-cloud/firestore";
import { comesAfter, type PostedOutcome, type QueuedKeyState, type StoredWaiter } from "@holdfast/shared";
import type { FirestoreContext } from "./context.ts";
import { readKeyDocument } from "./document.ts";
import { toLockError } from "./errors.ts";
import { readWaiterDocument, SERVED_KEEP_MS, type WaiterDocument } from "./waiter-document.ts";

/** What a step may need besides the head of the queue. */
export interface Needs {
  /** A caller whose waiter (queued or served) the step must see. */
  caller?: string;
  /** An idempotency key whose queued waiter a retry may join. */
  idempotencyKey?: string;
}

export interface Loaded {
  snapshot: DocumentSnapshot;
  record: QueuedKeyState | null;
  legacy: boolean;
  /** The waiter documents read, queued or served, by token: what the write compares against. */
  docs: Map<string, WaiterDocument>;
  /** Callers whose posted outcomes live in the key document (old format): kept there until they expire. */
  keyPosted: Set<string>;
}

export async function loadStep(
  ctx: FirestoreContext,
  keyId: string,
  snapshot: DocumentSnapshot,
  needs: Needs,
  headSize: number,
): Promise<Loaded> {
  const { record, legacy } = readKeyDocument(snapshot);
  const docs = new Map<string, WaiterDocument>();
  if (record === null) return { snapshot, record, legacy, docs, keyPosted: new Set() };
  const keyPosted = new Set(record.posted.map((p) => p.caller));
  const waiters = ctx.waitersOf(keyId);
  const inCollection = (record.waiting ?? 0) - record.waiters.length;
  const [head, callers, idem] = await Promise.all([
    inCollection > 0 ? query(waiters.orderBy("order").limit(headSize).get()) : undefined,
    needs.caller === undefined
      ? undefined
      : query(waiters.where("callerTokens", "array-contains", needs.caller).limit(4).get()),
    needs.idempotencyKey === undefined || inCollection === 0
      ? undefined
      : query(waiters.where("queuedIdem", "==", needs.idempotencyKey).limit(1).get()),
  ]);
  for (const found of [head, callers, idem]) {
    for (const doc of found?.docs ?? []) {
      const read = readWaiterDocument(doc.data());
      docs.set(read.waiter.token, read);
    }
  }
  // The old format's waiters first (the next write moves them), then the documents'.
  const queued = new Map<string, StoredWaiter>(record.waiters.map((w) => [w.token, w]));
  for (const { waiter, served } of docs.values()) {
    if (served === undefined) queued.set(waiter.token, waiter);
    else record.posted.push(...postedFor(waiter, served));
  }
  record.waiters = [...queued.values()].sort((a, b) => (comesAfter(a, b) ? 1 : comesAfter(b, a) ? -1 : 0));
  const last = head?.docs.at(-1);
  if (head && head.size >= headSize && last) {
    const { waiter } = readWaiterDocument(last.data());
    record.frontier = { priority: waiter.priority, seq: waiter.seq };
  }
  return { snapshot, record, legacy, docs, keyPosted };
}

/**
 * A served waiter's outcome as the core's posted outcomes (core/store-queue.ts): for each
 * caller but the waiter's own when it was granted (whose grant is the holder with its token).
 */
function postedFor(waiter: StoredWaiter, served: NonNullable<WaiterDocument["served"]>): PostedOutcome[] {
  return Object.entries(waiter.callers).flatMap(([caller, deadline]) =>
    served.outcome.ok && caller === served.outcome.token
      ? []
      : [{ caller, outcome: served.outcome, keepUntilMs: Math.max(served.atMs, deadline) + SERVED_KEEP_MS }],
  );
}

async function query(running: Promise<QuerySnapshot>): Promise<QuerySnapshot> {
  try {
    return await running;
  } catch (error) {
    throw toLockError(error);
  }
}
