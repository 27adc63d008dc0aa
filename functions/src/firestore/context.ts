/** What the Firestore backend's operations share: the client, the collection, the skew guard, the per-key lane. */
import type { CollectionReference, DocumentReference, Firestore } from "@google-cloud/firestore";
import { checkBounds, type KeyBounds, LockError } from "@holdfast/shared";
import { DEFAULT_CLOCK_TOLERANCE_MS, SkewGuard } from "./clock.ts";
import { docIdOf } from "./document.ts";
import { createLanes } from "./lanes.ts";

export interface FirestoreBackendOptions {
  firestore: Firestore;
  /** Collection of the lock documents (default `holdfast_locks`). */
  collection?: string;
  /** Largest tolerated skew of this instance's clock against Firestore's, in ms (default 1000). */
  clockToleranceMs?: number;
  /** How long one operation may keep retrying writes that lost a race on its document (default 3000 ms). */
  contentionBudgetMs?: number;
  /** The instance clock, used only to measure its skew (tests shift it). Default `Date.now`. */
  now?: () => number;
  /**
   * Longest an operation may wait behind this instance's earlier operations on the same
   * key before it gives up without touching the store (default 5000 ms).
   */
  laneWaitMs?: number;
  /** Per-key bounds (R9); unset ones take FIRESTORE_BOUNDS. */
  bounds?: Partial<KeyBounds>;
}

/**
 * The key's document is rewritten whole by every step, and a document holds at most 1 MiB:
 * with the longest idempotency keys a holder takes ~350 B, so 500 stay under 0.2 MB. The
 * waiters are documents of their own (waiter-document.ts), and a step reads and writes only
 * the few it touches, so their bound is the other stores' 10,000.
 */
export const FIRESTORE_BOUNDS: KeyBounds = { holders: 500, waiters: 10_000 };

export interface FirestoreContext {
  firestore: Firestore;
  locks: CollectionReference;
  docOf(keyId: string): DocumentReference;
  /** The key's waiters, one document each. */
  waitersOf(keyId: string): CollectionReference;
  /** The markers of the key's writes (markers.ts). */
  markersOf(keyId: string): CollectionReference;
  skew: SkewGuard;
  contentionBudgetMs: number;
  now: () => number;
  bounds: KeyBounds;
  /** This instance's steps on each key, run in turn and grouped (lanes.ts). */
  lanes: ReturnType<typeof createLanes>;
  /** Throws ServiceUnavailable once the backend is closing: called before every RPC. */
  assertOpen(): void;
  /** Refuses new RPCs, waits (at most `graceMs`) for the steps under way, then ends the client. */
  close(graceMs: number): Promise<void>;
}

export function createContext(options: FirestoreBackendOptions): FirestoreContext {
  const locks = options.firestore.collection(options.collection ?? "holdfast_locks");
  const lanes = createLanes(options.laneWaitMs ?? 5000);
  let closing = false;
  return {
    firestore: options.firestore,
    locks,
    docOf: (keyId) => locks.doc(docIdOf(keyId)),
    waitersOf: (keyId) => locks.doc(docIdOf(keyId)).collection("w"),
    markersOf: (keyId) => locks.doc(docIdOf(keyId)).collection("m"),
    skew: new SkewGuard(options.clockToleranceMs ?? DEFAULT_CLOCK_TOLERANCE_MS),
    contentionBudgetMs: options.contentionBudgetMs ?? 3000,
    now: options.now ?? Date.now,
    bounds: checkBounds({ ...FIRESTORE_BOUNDS, ...options.bounds }),
    lanes,
    assertOpen() {
      if (closing) throw new LockError("ServiceUnavailable", "this instance is shutting down; retry");
    },
    // The client must not be asked for anything once terminated: it then drops the
    // request's rejection (unhandled) and the request never settles. Hence the flag,
    // checked before every RPC, and the wait for the steps already under way.
    async close(graceMs) {
      closing = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([lanes.drained(), grace]);
      clearTimeout(timer);
      await options.firestore.terminate();
    },
  };
}
