/**
 * The in-memory backend: the reference implementation of the lock model, with an
 * injectable clock for tests. JavaScript runs each operation to completion, so every
 * transition is atomic. `persist` lets a host keep fences across restarts.
 */
import type { Backend } from "../backend.ts";
import { acquireTransition, cloneState, extendTransition, lookupOf, ownsOf, releaseTransition } from "../core/index.ts";
import type { KeyState } from "../model.ts";

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
  const listeners = new Map<string, Set<() => void>>();

  function commit(keyId: string, state: KeyState, changed: boolean): void {
    if (!changed) return;
    states.set(keyId, state);
    options.persist?.save(states);
  }

  function notify(keyId: string): void {
    for (const listener of listeners.get(keyId) ?? []) listener();
  }

  // Results are copied out so that callers can never alias stored state.
  const snapshot = (keyId: string) => {
    const state = states.get(keyId);
    return state ? cloneState(state) : null;
  };

  return {
    name: options.name ?? "memory",
    async acquire(request) {
      const { state, result, changed } = acquireTransition(snapshot(request.keyId), request, now());
      commit(request.keyId, state, changed);
      return result;
    },
    async release(ref) {
      const state = snapshot(ref.keyId);
      const { result, changed } = releaseTransition(state, ref, now());
      if (state) commit(ref.keyId, state, changed);
      if (result.ok) notify(ref.keyId);
      return result;
    },
    async extend(ref, ttlMs) {
      const state = snapshot(ref.keyId);
      const { result, changed } = extendTransition(state, ref, ttlMs, now());
      if (state) commit(ref.keyId, state, changed);
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
    watch(keyId, listener) {
      const set = listeners.get(keyId) ?? new Set();
      set.add(listener);
      listeners.set(keyId, set);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(keyId);
      };
    },
  };
}
