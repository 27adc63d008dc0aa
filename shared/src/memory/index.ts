/**
 * The in-memory backend: the reference implementation of the lock model, with an
 * injectable clock for tests. JavaScript runs each operation to completion, so every
 * transition is atomic. `persist` lets a host keep fences across restarts. Waiting is
 * fair (FairQueue), as in the Durable Object backend.
 */
import type { Backend } from "../backend.ts";
import { acquireTransition, cloneState, extendTransition, lookupOf, ownsOf, releaseTransition } from "../core/index.ts";
import type { AcquireRequest, KeyState } from "../model.ts";
import { FairQueue } from "../waiting/fair-queue.ts";
import { leaveOnAbort } from "../waiting/leave-on-abort.ts";

export interface MemoryPersistence {
  load(): Iterable<[keyId: string, state: KeyState]>;
  /** Called synchronously after every change, before the caller sees the result. */
  save(states: ReadonlyMap<string, KeyState>): void;
}

export interface MemoryBackendOptions {
  now?: () => number;
  persist?: MemoryPersistence;
  name?: string;
}

export function createMemoryBackend(options: MemoryBackendOptions = {}): Backend {
  const now = options.now ?? (() => Date.now());
  const states = new Map<string, KeyState>(options.persist?.load() ?? []);
  const queues = new Map<string, { queue: FairQueue; timer?: ReturnType<typeof setTimeout> }>();

  // Transitions run on a copy that replaces the stored state only when it changed.
  const snapshot = (keyId: string) => {
    const state = states.get(keyId);
    return state ? cloneState(state) : null;
  };

  function commit(keyId: string, state: KeyState, changed: boolean): void {
    if (!changed) return;
    states.set(keyId, state);
    options.persist?.save(states);
  }

  function attempt(request: AcquireRequest) {
    const { state, result, changed } = acquireTransition(snapshot(request.keyId), request, now());
    commit(request.keyId, state, changed);
    return result;
  }

  function queueFor(keyId: string): FairQueue {
    const existing = queues.get(keyId);
    if (existing) return existing.queue;
    const entry: { queue: FairQueue; timer?: ReturnType<typeof setTimeout> } = {
      queue: new FairQueue({
        attempt,
        preview: (request) => acquireTransition(snapshot(request.keyId), request, now()).result,
        now,
        wakeAt: (timeMs) => {
          if (entry.timer !== undefined) clearTimeout(entry.timer);
          entry.timer = setTimeout(() => entry.queue.dispatch(), Math.max(0, timeMs - now()) + 1);
        },
      }),
    };
    queues.set(keyId, entry);
    return entry.queue;
  }

  function forgetIdleQueue(keyId: string): void {
    const entry = queues.get(keyId);
    if (entry && entry.queue.size === 0) {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      queues.delete(keyId);
    }
  }

  return {
    name: options.name ?? "memory",
    async acquire(request) {
      // While others wait, a try-once request must not pass them.
      const entry = queues.get(request.keyId);
      return entry ? entry.queue.acquire(request, 0) : attempt(request);
    },
    async acquireQueued(request, { waitMs, signal }) {
      const queue = queueFor(request.keyId);
      const result = queue.acquire(request, waitMs);
      const stopListening = leaveOnAbort(signal, () => queue.cancel(request.token));
      try {
        return await result;
      } finally {
        stopListening();
        forgetIdleQueue(request.keyId);
      }
    },
    async release(ref) {
      const state = snapshot(ref.keyId);
      const { result, changed } = releaseTransition(state, ref, now());
      if (state) commit(ref.keyId, state, changed);
      if (result.ok) queues.get(ref.keyId)?.queue.dispatch();
      return result;
    },
    async extend(ref, ttlMs) {
      const state = snapshot(ref.keyId);
      const { result, changed } = extendTransition(state, ref, ttlMs, now());
      if (state) commit(ref.keyId, state, changed);
      // A shortened lease frees the key sooner: let the queue re-time its wake-up.
      if (result.ok) queues.get(ref.keyId)?.queue.dispatch();
      return result;
    },
    async owns(ref) {
      return ownsOf(states.get(ref.keyId) ?? null, ref, now());
    },
    async lookup(ref) {
      const state = states.get(ref.keyId) ?? null;
      return lookupOf(state && state.tenant === ref.tenant ? state : null, now());
    },
    async time() {
      return now();
    },
  };
}
