/**
 * One lane per document: this instance's steps on one key never race each other (each
 * would read, then lose its write to the other and read again). Steps that arrive while
 * the key's step is under way wait in the lane, and the next turn takes them all at once,
 * in arrival order, as one group (atomic.ts: one read, one batch): a burst of thousands
 * of requests on one key costs tens of round trips, not thousands one after the other.
 * Writes from other instances are still caught by the preconditions.
 *
 * While Firestore does not answer, a lane backs up; a step that waited too long for the
 * lane to move is dropped unsent, so that its caller's answer (a timeout, long given)
 * stays true instead of the step landing in the store once it is back. What counts is
 * the wait behind one group (from the group's start, or the step's arrival if later): a
 * lane that keeps moving through a long burst drops nobody, one stuck on a silent store
 * drops everything that waited behind it.
 */
import { LockError } from "@holdfast/shared";

/** A step waiting in its lane: the group runner settles it. */
export interface Waiting {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Runs one group (at most MAX_GROUP steps, in arrival order) and settles each of its steps,
 * except those it hands back, which run first in the lane's next turn.
 */
export type RunGroup<E extends Waiting> = (group: E[]) => Promise<E[]>;

/** Steps one group takes: one batch carries each step's marker and writes (a queued request: 2 of the batch's 500). */
export const MAX_GROUP = 200;

/** `now`: the clock that times waits (tests drive it by hand). */
export function createLanes(maxWaitMs: number, now: () => number = () => performance.now()) {
  const lanes = new Map<string, { queue: { entry: Waiting; queuedAt: number }[]; done: Promise<void> }>();

  async function drain<E extends Waiting>(docId: string, runGroup: RunGroup<E>) {
    const lane = lanes.get(docId);
    if (!lane) return;
    while (lane.queue.length > 0) {
      const startedAt = now();
      const group = lane.queue.splice(0, MAX_GROUP).map(({ entry }) => entry as E);
      let handedBack: E[] = [];
      try {
        handedBack = await runGroup(group);
      } catch (error) {
        for (const entry of group) entry.reject(error);
      }
      const finishedAt = now();
      lane.queue = lane.queue.filter(({ entry, queuedAt }) => {
        const stale = finishedAt - Math.max(queuedAt, startedAt) > maxWaitMs;
        if (stale) entry.reject(slow());
        return !stale;
      });
      // Handed back: they were in the lane before anything queued since, so they go first.
      lane.queue.unshift(...handedBack.map((entry) => ({ entry, queuedAt: finishedAt })));
    }
    lanes.delete(docId);
  }

  return {
    /** Queues `entry` on the document's lane; `runGroup` runs it with whatever queued beside it. */
    join<E extends Waiting>(docId: string, entry: E, runGroup: RunGroup<E>): void {
      const lane = lanes.get(docId);
      if (lane) {
        lane.queue.push({ entry, queuedAt: now() });
        return;
      }
      const fresh = { queue: [{ entry, queuedAt: now() }], done: Promise.resolve() };
      lanes.set(docId, fresh);
      // On the next microtask: the steps asked for in this same turn make the first group.
      fresh.done = Promise.resolve().then(() => drain(docId, runGroup));
    },
    /** Resolves once no lane has a step under way or waiting. */
    async drained(): Promise<void> {
      while (lanes.size > 0) await Promise.all([...lanes.values()].map((lane) => lane.done));
    },
  };
}

function slow() {
  return new LockError(
    "ServiceUnavailable",
    "Firestore is slow to answer on this key: the operation was not sent; retry",
  );
}
