/**
 * R8, fair server-side waiting for one key, for stores that run JavaScript next to their
 * state (memory, a Durable Object). Waiters are served in order — higher `priority`
 * first, FIFO within a priority — and a newcomer never passes a waiter of equal or
 * higher priority: a release hands the key to the head of the queue at once, and a
 * stream of readers cannot starve a waiting writer. The host supplies synchronous,
 * atomic store steps.
 *
 * A retry of a queued request (same idempotency key) joins its waiter instead of
 * queueing twice, so one request never yields two grants. Each caller keeps its own
 * deadline and can leave on its own; the waiter leaves the queue when its last caller
 * has gone.
 */
import { atCapacity, type KeyBounds, MAX_CALLERS_PER_WAITER } from "../bounds.ts";
import { blockedUntil, sameRequest } from "../core/acquire.ts";
import type { AcquireRequest, AcquireResult, KeyState } from "../model.ts";

export interface QueueHost {
  /** Runs the acquire transition and commits it if granted. Must be synchronous (atomic). */
  attempt(request: AcquireRequest): AcquireResult;
  /** The same decision without committing anything. */
  preview(request: AcquireRequest): AcquireResult;
  /** Asks to be woken (call `dispatch`) at this store time, when a blocking holder expires. */
  wakeAt(timeMs: number): void;
  now(): number;
  /** R9: the queue takes no more than `bounds().waiters`; the host's transitions bound the holders. */
  bounds(): KeyBounds;
}

/** One caller waiting on a waiter: the original request or a retry that joined it. */
interface Caller {
  token: string;
  resolve: (result: AcquireResult) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface Waiter {
  request: AcquireRequest;
  priority: number;
  callers: Caller[];
}

export class FairQueue {
  private waiters: Waiter[] = [];
  /** Each waiting caller's waiter, and each queued idempotency key's: no scan of a long queue. */
  private readonly byCaller = new Map<string, Waiter>();
  private readonly byIdempotencyKey = new Map<string, Waiter>();

  constructor(private readonly host: QueueHost) {}

  get size(): number {
    return this.waiters.length;
  }

  /** Grants now if fair and possible; otherwise waits up to `waitMs` (0: answer at once). */
  acquire(request: AcquireRequest, waitMs: number): Promise<AcquireResult> {
    if (this.waiters.length === 0) {
      const result = this.host.attempt(request);
      if (result.ok || result.reason !== "locked" || waitMs <= 0) return Promise.resolve(result);
      this.host.wakeAt(result.retryAtMs);
      return this.enqueue(request, waitMs);
    }
    const original = this.findIdempotent(request);
    if (original) return this.join(original, request, waitMs);
    // Someone is waiting: answer at once only what waiting cannot change (an earlier
    // grant for this idempotency key, a limit mismatch); everything else queues.
    const preview = this.host.preview(request);
    const answersNow =
      (preview.ok && preview.token !== request.token) || (!preview.ok && blockedUntil(preview) === undefined);
    if (answersNow) return Promise.resolve(preview);
    // R9: a key at its holder bound refuses whoever would go first (a strictly higher priority).
    const first = (request.priority ?? 0) > (this.waiters[0] as Waiter).priority;
    if (first && !preview.ok && preview.reason === "capacity") return Promise.resolve(preview);
    const maxWaiters = this.host.bounds().waiters;
    if (waitMs > 0 && this.waiters.length >= maxWaiters)
      return Promise.resolve(atCapacity("waiters", maxWaiters, this.host.now()));
    const promise = this.enqueue(request, waitMs);
    this.dispatch();
    if (waitMs <= 0) this.cancel(request.token);
    return promise;
  }

  /** Whether a caller with this token is waiting. */
  isWaiting(token: string): boolean {
    return this.byCaller.has(token);
  }

  /** Serves waiters from the head while the store grants them. Call after a release, an extend or an expiry. */
  dispatch(): void {
    while (this.waiters.length > 0) {
      const head = this.waiters[0] as Waiter;
      let result: AcquireResult;
      try {
        result = this.host.attempt(head.request);
      } catch (error) {
        // A failing store step must not wedge the queue: this waiter gets the error.
        this.remove(head);
        for (const caller of head.callers) caller.reject(error);
        continue;
      }
      const blocked = blockedUntil(result);
      if (blocked !== undefined) {
        this.host.wakeAt(blocked);
        return;
      }
      this.remove(head);
      for (const caller of head.callers) caller.resolve(result);
    }
  }

  /** The caller with this token leaves (its client went away, or its wait ran out). Returns false if it was not waiting. */
  cancel(token: string): boolean {
    const waiter = this.byCaller.get(token);
    const caller = waiter?.callers.find((c) => c.token === token);
    if (!waiter || !caller) return false;
    if (caller.timer !== undefined) clearTimeout(caller.timer);
    waiter.callers = waiter.callers.filter((c) => c !== caller);
    this.byCaller.delete(token);
    caller.resolve(this.locked());
    if (waiter.callers.length === 0) {
      const wasHead = this.waiters[0] === waiter;
      this.remove(waiter);
      // A blocked head that leaves may unblock the compatible waiters behind it.
      if (wasHead) this.dispatch();
    }
    return true;
  }

  private enqueue(request: AcquireRequest, waitMs: number): Promise<AcquireResult> {
    const waiter: Waiter = { request, priority: request.priority ?? 0, callers: [] };
    const promise = this.addCaller(waiter, request.token, waitMs);
    const idempotencyKey = request.idempotencyKey;
    if (idempotencyKey !== undefined) this.byIdempotencyKey.set(idempotencyKey, waiter);
    // Higher priority first; FIFO within a priority. Most requests share one priority: the
    // tail is checked first, so they join the queue without a scan.
    const last = this.waiters.at(-1);
    const index =
      !last || last.priority >= waiter.priority ? -1 : this.waiters.findIndex((w) => w.priority < waiter.priority);
    if (index === -1) this.waiters.push(waiter);
    else this.waiters.splice(index, 0, waiter);
    return promise;
  }

  /** R8: a retry of a queued request shares its waiter, with its own deadline. */
  private join(waiter: Waiter, retry: AcquireRequest, waitMs: number): Promise<AcquireResult> {
    const original = waiter.request;
    if (!sameRequest(original, retry, original.limit))
      return Promise.resolve({ ok: false, reason: "idempotency-mismatch", serverTimeMs: this.host.now() });
    // Still queued means not granted yet: a try-once retry is truthfully "locked".
    if (waitMs <= 0) return Promise.resolve(this.locked());
    if (waiter.callers.length >= MAX_CALLERS_PER_WAITER) {
      return Promise.resolve(atCapacity("callers", MAX_CALLERS_PER_WAITER, this.host.now()));
    }
    return this.addCaller(waiter, retry.token, waitMs);
  }

  private addCaller(waiter: Waiter, token: string, waitMs: number): Promise<AcquireResult> {
    return new Promise<AcquireResult>((resolve, reject) => {
      const caller: Caller = { token, resolve, reject, timer: undefined };
      if (waitMs > 0) caller.timer = setTimeout(() => this.cancel(token), waitMs);
      waiter.callers.push(caller);
      this.byCaller.set(token, waiter);
    });
  }

  private remove(waiter: Waiter): void {
    for (const caller of waiter.callers) {
      if (caller.timer !== undefined) clearTimeout(caller.timer);
      this.byCaller.delete(caller.token);
    }
    const idempotencyKey = waiter.request.idempotencyKey;
    if (idempotencyKey !== undefined && this.byIdempotencyKey.get(idempotencyKey) === waiter) {
      this.byIdempotencyKey.delete(idempotencyKey);
    }
    // Usually the head, served or gone: shift rather than copy the queue.
    if (this.waiters[0] === waiter) this.waiters.shift();
    else this.waiters.splice(this.waiters.indexOf(waiter), 1);
  }

  private locked(): AcquireResult {
    const now = this.host.now();
    return { ok: false, reason: "locked", serverTimeMs: now, retryAtMs: now };
  }

  private findIdempotent(request: AcquireRequest): Waiter | undefined {
    if (request.idempotencyKey === undefined) return undefined;
    return this.byIdempotencyKey.get(request.idempotencyKey);
  }
}

/**
 * A release or an extend on a key served by a FairQueue, written once for every backend
 * that keeps one (memory, Durable Object): the core's transition on a copy of the record,
 * the copy saved, and, when it succeeded, the queue served. A release frees the key for
 * the head; an extend may shorten the lease, which moves the head's wake-up.
 */
export function changeHolders<R extends { ok: boolean }>(
  copy: KeyState | null,
  transition: (copy: KeyState | null) => { result: R; changed: boolean },
  save: (state: KeyState, changed: boolean) => void,
  queue: FairQueue | undefined,
): R {
  const { result, changed } = transition(copy);
  if (copy) save(copy, changed);
  if (result.ok) queue?.dispatch();
  return result;
}
