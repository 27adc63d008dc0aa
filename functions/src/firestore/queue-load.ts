/**
 * What one step reads: the key document first, which carries the front of the queue
 * (its first waiters, copied from their documents), then only what else the step can
 * touch, in parallel: the document of the caller's waiter (by id), the queued waiter of
 * an idempotency key, and, only when the step ran past the front (QueueNotLoaded), a
 * longer head of the queue by query. The reads run after the key document's read, and
 * every change to the subcollection is written in one batch with the key document, on
 * condition that the key document is unchanged since that read: so if the step's write
 * lands, nothing it read had changed.
 *
 * Why a front in the key document: a query's cost grows with the collection on the
 * emulator (it scans), and a read by id does not; with the front, serving the head and
 * queueing behind it read no query at all, and one query refills the front after
 * FRONT_SIZE waiters were served.
 */
import type { DocumentReference, DocumentSnapshot, Query, QuerySnapshot } from "@google-cloud/firestore";
import { comesAfter, type PostedOutcome, type QueuedKeyState, type StoredWaiter } from "@holdfast/shared";
import type { FirestoreContext } from "./context.ts";
import { type HeadRetry, readKeyDocument } from "./document.ts";
import { toLockError } from "./errors.ts";
import { readWaiterDocument, SERVED_KEEP_MS, type WaiterDocument, waiterDocId } from "./waiter-document.ts";

/** How many waiters the key document copies from the head of its queue. */
export const FRONT_SIZE = 8;

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
  /** The waiter documents read (or copied in the front), queued or served, by token: what the write compares against. */
  docs: Map<string, WaiterDocument>;
  /** Callers whose posted outcomes live in the key document (old format): kept there until they expire. */
  keyPosted: Set<string>;
  front: StoredWaiter[];
  headRetry: HeadRetry | null;
}

/**
 * What a group of steps reads: what each of them needs. `headSize`: read the head of the
 * queue by query, this many waiters (else the front stands for it).
 */
export async function loadStep(
  ctx: FirestoreContext,
  keyId: string,
  snapshot: DocumentSnapshot,
  needs: readonly Needs[],
  headSize: number | undefined,
): Promise<Loaded> {
  const { record, legacy, front, headRetry } = readKeyDocument(snapshot);
  const docs = new Map<string, WaiterDocument>();
  const loaded = { snapshot, record, legacy, docs, keyPosted: new Set<string>(), front, headRetry };
  if (record === null) return loaded;
  for (const p of record.posted) loaded.keyPosted.add(p.caller);
  for (const waiter of front) docs.set(waiter.token, { waiter });
  const waiters = ctx.waitersOf(keyId);
  const inCollection = (record.waiting ?? 0) - record.waiters.length;
  const inFront = (test: (w: StoredWaiter) => boolean) => front.some(test);
  const callers = new Set(needs.flatMap((n) => (n.caller === undefined ? [] : [n.caller])));
  const idems = new Set(needs.flatMap((n) => (n.idempotencyKey === undefined ? [] : [n.idempotencyKey])));
  const [head, owns, joined] = await Promise.all([
    headSize !== undefined && inCollection > 0 ? query(waiters.orderBy("order").limit(headSize)) : undefined,
    Promise.all(
      [...callers]
        .filter((caller) => !inFront((w) => caller in w.callers))
        .map(async (caller) => ({ caller, own: await byId(ctx, waiters.doc(waiterDocId(caller))) })),
    ),
    inCollection === 0
      ? []
      : Promise.all(
          [...idems]
            .filter((idem) => !inFront((w) => w.idempotencyKey === idem))
            .map((idem) => query(waiters.where("queuedIdem", "==", idem).limit(1))),
        ),
  ]);
  const found: DocumentSnapshot[] = [...(head?.docs ?? []), ...joined.flatMap((q) => q.docs)];
  for (const { caller, own } of owns) {
    if (own.exists) found.push(own);
    // A retry's token names no document: its waiter is found by its callers (a query, rare).
    else found.push(...(await query(waiters.where("callerTokens", "array-contains", caller).limit(1))).docs);
  }
  for (const doc of found) {
    const read = readWaiterDocument(doc.data() ?? {});
    if (!docs.has(read.waiter.token)) docs.set(read.waiter.token, read);
  }
  // The old format's waiters (the next write moves them), then the documents'.
  const queued = new Map<string, StoredWaiter>(record.waiters.map((w) => [w.token, w]));
  for (const { waiter, served } of docs.values()) {
    if (served === undefined) queued.set(waiter.token, waiter);
    else record.posted.push(...postedFor(waiter, served));
  }
  record.waiters = [...queued.values()].sort((a, b) => (comesAfter(a, b) ? 1 : comesAfter(b, a) ? -1 : 0));
  const frontier = frontierOf(head, headSize, front, inCollection);
  if (frontier) record.frontier = frontier;
  return loaded;
}

/** The last waiter known to follow the ones before it without a gap, when more follow it. */
function frontierOf(
  head: QuerySnapshot | undefined,
  headSize: number | undefined,
  front: StoredWaiter[],
  inCollection: number,
) {
  if (head !== undefined && headSize !== undefined) {
    const last = head.docs.at(-1);
    if (head.size < headSize || !last) return undefined;
    const { waiter } = readWaiterDocument(last.data());
    return { priority: waiter.priority, seq: waiter.seq };
  }
  if (inCollection <= front.length) return undefined;
  const last = front.at(-1);
  // No front while waiters are queued: nothing is known to be the head.
  return last ? { priority: last.priority, seq: last.seq } : { priority: Number.POSITIVE_INFINITY, seq: 0 };
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

async function query(q: Query): Promise<QuerySnapshot> {
  try {
    return await q.get();
  } catch (error) {
    throw toLockError(error);
  }
}

async function byId(ctx: FirestoreContext, ref: DocumentReference): Promise<DocumentSnapshot> {
  try {
    const [snapshot] = await ctx.firestore.getAll(ref);
    if (!snapshot) throw new Error("getAll answered nothing");
    return snapshot;
  } catch (error) {
    throw toLockError(error);
  }
}
