/**
 * Fair server-side waiting for one key, for stores that run JavaScript next to their
 * state (memory, a Durable Object). Waiters are served in order — higher `priority`
 * first, FIFO within a priority — and a newcomer never passes a waiter: a release
 * hands the key to the head of the queue at once, and a stream of readers cannot
 * starve a waiting writer. The host supplies synchronous, atomic store steps.
 */
import type { AcquireRequest, AcquireResult } from "../model.ts";

export interface QueueHost {
  /** Runs the acquire transition and commits it if granted. Must be synchronous (atomic). */
  attempt(request: AcquireRequest): AcquireResult;
  /** The same decision without committing anything. */
  preview(request: AcquireRequest): AcquireResult;
  /** Asks to be woken (call `dispatch`) at this store time, when a blocking holder expires. */
  wakeAt(timeMs: number): void;
  now(): number;
}

interface Waiter {
  request: AcquireRequest;
  priority: number;
  seq: number;
  promise: Promise<AcquireResult>;
  settle: (result: AcquireResult) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class FairQueue {
  private waiters: Waiter[] = [];
  private seq = 0;

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
    const joined = this.findIdempotent(request);
    if (joined) return joined.promise;
    // Someone is waiting: answer at once only what waiting cannot change (an earlier
    // grant for this idempotency key, a limit mismatch); everything else queues.
    const preview = this.host.preview(request);
    const answersNow = (preview.ok && preview.token !== request.token) || (!preview.ok && preview.reason !== "locked");
    if (answersNow) return Promise.resolve(preview);
    const promise = this.enqueue(request, waitMs);
    this.dispatch();
    if (waitMs <= 0) this.giveUp(request.token);
    return promise;
  }

  /** Serves waiters from the head while the store grants them. Call after a release or expiry. */
  dispatch(): void {
    while (this.waiters.length > 0) {
      const head = this.waiters[0] as Waiter;
      const result = this.host.attempt(head.request);
      if (!result.ok && result.reason === "locked") {
        this.host.wakeAt(result.retryAtMs);
        return;
      }
      this.remove(head);
      head.settle(result);
    }
  }

  /** Drops a waiter (its client went away). Returns false if it was not waiting. */
  cancel(token: string): boolean {
    return this.giveUp(token);
  }

  private giveUp(token: string): boolean {
    const waiter = this.waiters.find((w) => w.request.token === token);
    if (!waiter) return false;
    const wasHead = this.waiters[0] === waiter;
    this.remove(waiter);
    const now = this.host.now();
    waiter.settle({ ok: false, reason: "locked", serverTimeMs: now, retryAtMs: now });
    // A blocked head that leaves may unblock the compatible waiters behind it.
    if (wasHead) this.dispatch();
    return true;
  }

  private enqueue(request: AcquireRequest, waitMs: number): Promise<AcquireResult> {
    let settle!: (result: AcquireResult) => void;
    const promise = new Promise<AcquireResult>((resolve) => {
      settle = resolve;
    });
    const waiter: Waiter = {
      request,
      priority: request.priority ?? 0,
      seq: this.seq++,
      promise,
      settle,
      timer: undefined,
    };
    if (waitMs > 0) waiter.timer = setTimeout(() => this.giveUp(request.token), waitMs);
    // Higher priority first; FIFO within a priority.
    const index = this.waiters.findIndex((w) => w.priority < waiter.priority);
    if (index === -1) this.waiters.push(waiter);
    else this.waiters.splice(index, 0, waiter);
    return promise;
  }

  private remove(waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    this.waiters = this.waiters.filter((w) => w !== waiter);
  }

  private findIdempotent(request: AcquireRequest): Waiter | undefined {
    if (request.idempotencyKey === undefined) return undefined;
    return this.waiters.find((w) => w.request.idempotencyKey === request.idempotencyKey);
  }
}
