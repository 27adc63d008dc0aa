/**
 * The in-memory backend: the reference implementation of the lock model, with an
 * injectable clock for tests. JavaScript runs each operation to completion, so every
 * transition is atomic. `persist` lets a host keep fences across restarts. Waiting is
 * fair (FairQueue), as in the Durable Object backend.
 *
 * Write-ahead with `persist`: the changes one synchronous run makes to a key are written
 * once, at the end of the run, and every operation that saw that key's new state answers
 * only after the write is durable. While a key's write is in flight nothing else decides
 * on that key (operations wait for it to settle), so no decision rests on a state the
 * store has not confirmed. If the write fails, the key goes back to its last durable
 * state and every operation that saw the lost state fails with ServiceUnavailable:
 * a grant is never acknowledged unless durable, and a fence that was acknowledged is
 * on disk, so it is never issued again after a crash.
 */
import type { Backend } from "../backend.ts";
import { checkBounds, type KeyBounds } from "../bounds.ts";
import { acquireTransition, cloneState, extendTransition, lookupOf, ownsOf, releaseTransition } from "../core/index.ts";
import { LockError } from "../errors.ts";
import type { AcquireRequest, AcquireResult, KeyState } from "../model.ts";
import { changeHolders, FairQueue } from "../waiting/fair-queue.ts";
import { leaveOnAbort } from "../waiting/leave-on-abort.ts";

export interface MemoryPersistence {
  load(): Iterable<[keyId: string, state: KeyState]>;
  /**
   * Makes one key's new state durable (the state object is not changed afterwards).
   * The backend answers nothing that depends on it until this resolves; if it throws or
   * rejects, the key goes back to its last saved state and those operations fail.
   */
  save(keyId: string, state: KeyState): Promise<void> | void;
  close?(): Promise<void> | void;
}

export interface MemoryBackendOptions {
  now?: () => number;
  persist?: MemoryPersistence;
  name?: string;
  /** Per-key bounds (R9); unset ones take MEMORY_BOUNDS. */
  bounds?: Partial<KeyBounds>;
}

/**
 * A key's holders are written whole to the journal (start:node) on each change: 1,000
 * holders keep a record near 150 KB. Waiters live in memory only (the fair queue), and
 * 10,000 of them cost a release or an enqueue microseconds (bench/queue-size.bench.ts).
 */
export const MEMORY_BOUNDS: KeyBounds = { holders: 1_000, waiters: 10_000 };

/** A key's unconfirmed changes: made in one synchronous run, written once. */
interface PendingWrite {
  /** The key's last durable state (undefined: none), restored if the write fails. */
  readonly before: KeyState | undefined;
  /** Handed to the store: from now until it settles, nobody decides on this key. */
  issued: boolean;
  /** Resolves when the write settles: with the error to report, or undefined once durable. */
  readonly done: Promise<LockError | undefined>;
}

interface QueueEntry {
  queue: FairQueue;
  timer?: ReturnType<typeof setTimeout>;
}

export function createMemoryBackend(options: MemoryBackendOptions = {}): Backend {
  const now = options.now ?? (() => Date.now());
  const persist = options.persist;
  const bounds = checkBounds({ ...MEMORY_BOUNDS, ...options.bounds });
  const states = new Map<string, KeyState>(persist?.load() ?? []);
  const queues = new Map<string, QueueEntry>();
  const pending = new Map<string, PendingWrite>();
  // Results handed out through the queue, and the write each one must wait for.
  const dependsOn = new WeakMap<object, PendingWrite>();

  // Transitions run on a copy that replaces the stored state only when it changed.
  const snapshot = (keyId: string) => {
    const state = states.get(keyId);
    return state ? cloneState(state) : null;
  };

  const writing = (keyId: string) => pending.get(keyId)?.issued === true;

  function commit(keyId: string, state: KeyState, changed: boolean): void {
    if (!changed) return;
    // Every path that changes a key first waits for its write in flight; this guards that rule.
    if (writing(keyId)) throw new LockError("Internal", "a key changed while its write was in flight");
    if (persist && !pending.has(keyId)) pending.set(keyId, openWrite(keyId, persist));
    states.set(keyId, state);
  }

  /** Starts a key's pending write; it is issued once the current synchronous run is over. */
  function openWrite(keyId: string, store: MemoryPersistence): PendingWrite {
    let settle!: (error: LockError | undefined) => void;
    const done = new Promise<LockError | undefined>((resolve) => {
      settle = resolve;
    });
    const write: PendingWrite = { before: states.get(keyId), issued: false, done };
    queueMicrotask(() => {
      write.issued = true;
      save(store, keyId).then(
        () => finish(keyId, write, undefined, settle),
        (cause: unknown) => finish(keyId, write, unavailable(cause), settle),
      );
    });
    return write;
  }

  function save(store: MemoryPersistence, keyId: string): Promise<void> {
    try {
      return Promise.resolve(store.save(keyId, states.get(keyId) as KeyState));
    } catch (cause) {
      return Promise.reject(cause);
    }
  }

  function finish(
    keyId: string,
    write: PendingWrite,
    error: LockError | undefined,
    settle: (error: LockError | undefined) => void,
  ): void {
    pending.delete(keyId);
    if (error) {
      if (write.before) states.set(keyId, write.before);
      else states.delete(keyId);
    }
    settle(error);
    // Waiters were held back while the write was in flight.
    queues.get(keyId)?.queue.dispatch();
  }

  /**
   * Resolves once no write of this key is in flight (a failed one counts as settled).
   * Callers check again when it resolves (`while (writing(k)) await settled(k)`), and decide
   * in that same synchronous run: between its last check and their resumption, another
   * operation's write can be issued (under load it was: a release failed with Internal,
   * and an idempotent retry of a granted request was told "locked").
   */
  async function settled(keyId: string): Promise<void> {
    for (let write = pending.get(keyId); write?.issued; write = pending.get(keyId)) await write.done;
  }

  /** Rejects if the write this result (or the key's current state) rests on fails. */
  async function confirmed<R>(result: R, write: PendingWrite | undefined): Promise<R> {
    const error = write ? await write.done : undefined;
    if (error) throw error;
    return result;
  }

  /** Runs a synchronous step once the key is settled; answers once what it saw is durable. */
  async function onKey<R>(keyId: string, step: () => R): Promise<R> {
    while (writing(keyId)) await settled(keyId);
    const result = step();
    return confirmed(result, pending.get(keyId));
  }

  /** What the queue's waiters see while a write is in flight: nothing decided, come back later. */
  function held(): AcquireResult {
    const time = now();
    return { ok: false, reason: "locked", serverTimeMs: time, retryAtMs: time };
  }

  function attempt(request: AcquireRequest): AcquireResult {
    if (writing(request.keyId)) return held();
    const { state, result, changed } = acquireTransition(snapshot(request.keyId), request, now(), bounds);
    commit(request.keyId, state, changed);
    return tag(request.keyId, result);
  }

  function preview(request: AcquireRequest): AcquireResult {
    if (writing(request.keyId)) return held();
    return tag(request.keyId, acquireTransition(snapshot(request.keyId), request, now(), bounds).result);
  }

  function tag(keyId: string, result: AcquireResult): AcquireResult {
    const write = pending.get(keyId);
    if (write) dependsOn.set(result, write);
    return result;
  }

  function queueFor(keyId: string): FairQueue {
    const existing = queues.get(keyId);
    if (existing) return existing.queue;
    const entry: QueueEntry = {
      queue: new FairQueue({
        attempt,
        preview,
        now,
        bounds: () => bounds,
        wakeAt: (timeMs) => {
          // A write in flight dispatches the queue itself when it settles.
          if (writing(keyId)) return;
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

  async function acquireNow(request: AcquireRequest): Promise<AcquireResult> {
    while (writing(request.keyId)) await settled(request.keyId);
    // While others wait, a try-once request must not pass them.
    const entry = queues.get(request.keyId);
    const result = entry ? await entry.queue.acquire(request, 0) : attempt(request);
    return confirmed(result, dependsOn.get(result));
  }

  return {
    name: options.name ?? "memory",
    acquire: acquireNow,
    async acquireQueued(request, { waitMs, signal, onQueued }) {
      while (writing(request.keyId)) await settled(request.keyId);
      const queue = queueFor(request.keyId);
      const waiting = queue.acquire(request, waitMs);
      if (queue.isWaiting(request.token)) onQueued?.();
      const stopListening = leaveOnAbort(signal, () => queue.cancel(request.token));
      try {
        const result = await waiting;
        return await confirmed(result, dependsOn.get(result));
      } finally {
        stopListening();
        forgetIdleQueue(request.keyId);
      }
    },
    release(ref) {
      return onKey(ref.keyId, () =>
        changeHolders(
          snapshot(ref.keyId),
          (state) => releaseTransition(state, ref, now()),
          (state, changed) => commit(ref.keyId, state, changed),
          queues.get(ref.keyId)?.queue,
        ),
      );
    },
    extend(ref, ttlMs) {
      return onKey(ref.keyId, () =>
        changeHolders(
          snapshot(ref.keyId),
          (state) => extendTransition(state, ref, ttlMs, now()),
          (state, changed) => commit(ref.keyId, state, changed),
          queues.get(ref.keyId)?.queue,
        ),
      );
    },
    owns(ref) {
      return onKey(ref.keyId, () => ownsOf(states.get(ref.keyId) ?? null, ref, now()));
    },
    lookup(ref) {
      return onKey(ref.keyId, () => {
        const state = states.get(ref.keyId) ?? null;
        return lookupOf(state && state.tenant === ref.tenant ? state : null, now());
      });
    },
    async time() {
      return now();
    },
    async close() {
      // Let the writes in flight settle (their callers are waiting on them), then close the store.
      await Promise.all([...pending.values()].map((write) => write.done));
      await persist?.close?.();
    },
  };
}

function unavailable(cause: unknown): LockError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new LockError("ServiceUnavailable", `the lock state could not be saved: ${reason}`, { cause });
}
