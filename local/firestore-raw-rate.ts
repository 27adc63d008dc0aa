/**
 * The Firestore emulator's own pace, the floor beside which a Firestore-backed lock's rate
 * stands: conditional document updates (read, then write on condition that the document
 * did not change, the least a changing lock step does) through the same client the server
 * uses. `serial`: one document, one update after the other (what one hot key allows);
 * `parallel`: as many documents as the run has keys, each updated in its own loop.
 */
import type { DocumentReference } from "@google-cloud/firestore";
import { firestoreAt } from "./firestore-client.ts";

/** The raw store's best changing step on one document. */
export async function rawUpdate(ref: DocumentReference, n: number): Promise<void> {
  const snapshot = await ref.get();
  if (!snapshot.exists || !snapshot.updateTime) await ref.create({ n });
  else await ref.update({ n }, { lastUpdateTime: snapshot.updateTime });
}

export interface RawRates {
  /** Updates per second of one document, one after the other. */
  serial: number;
  /** Updates per second over `documents` documents, one loop each. */
  parallel: number;
  documents: number;
  seconds: number;
}

/** Measures the emulator at `host` (host:port) for `seconds` each way, in a collection of its own. */
export async function firestoreRawRates(host: string, documents: number, seconds = 10): Promise<RawRates> {
  const firestore = firestoreAt(host);
  const collection = firestore.collection(`raw-rate-${Date.now()}`);
  const loop = async (ref: DocumentReference, endsAt: number) => {
    let n = 0;
    while (performance.now() < endsAt) await rawUpdate(ref, n++);
    return n;
  };
  try {
    await rawUpdate(collection.doc("warm"), 0);
    // Per second of the time taken: the updates in flight at the end finish, and count.
    const rate = async (run: (endsAt: number) => Promise<number>) => {
      const started = performance.now();
      const updates = await run(started + seconds * 1000);
      return updates / ((performance.now() - started) / 1000);
    };
    const serial = await rate((endsAt) => loop(collection.doc("serial"), endsAt));
    const parallel = await rate(async (endsAt) => {
      const counts = await Promise.all(
        Array.from({ length: documents }, (_, i) => loop(collection.doc(`p${i}`), endsAt)),
      );
      return counts.reduce((sum, n) => sum + n, 0);
    });
    return { serial, parallel, documents, seconds };
  } finally {
    await firestore.terminate();
  }
}
