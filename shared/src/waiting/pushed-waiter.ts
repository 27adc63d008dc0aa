/**
 * Waiting for a handoff that the store pushes (Redis pub/sub, Postgres LISTEN/NOTIFY),
 * for backends whose queue lives in the store itself (Upstash, Neon). The store queued
 * the request; the waiter subscribes to its own channel and, once subscribed, asks the
 * store once (a handoff may have come in between). From then on the store step that
 * serves it (a release, an extend, an expiry, a leave) pushes the outcome, and an extend
 * or a departing head pushes a new retry time. Without a push the waiter asks again when
 * the blocker expires (the head first, the others a little later, so that the first ask
 * serves the queue), leaves at its deadline or on abort, and resubscribes, with backoff,
 * when its channel breaks.
 *
 * Every event only records what happened and wakes the loop, which then looks at all of
 * it again: a wake that comes while the loop is busy is kept for its next sleep.
 */
import type { QueuedWaitOptions } from "../backend.ts";
import { LockError } from "../errors.ts";
import type { AcquireResult, Queued, QueueStatus } from "../model.ts";

/** A push on the waiter's channel: its outcome, or the head's new retry time (store clock). */
export type Push = { outcome: AcquireResult } | { retryAtMs: number };

export interface PushChannel {
  /** True once the store confirmed the subscription; false if the channel ended first. */
  ready: Promise<boolean>;
  /**
   * For a channel whose confirmation carries the whole record (Firestore's first
   * snapshot): where the waiter stood then, which spares the check after subscribing.
   * Undefined when only a check can tell.
   */
  current?(): QueueStatus | undefined;
  /** Resolves when the channel ends or fails, for whatever reason. */
  ended: Promise<void>;
  close(): void;
}

/**
 * The two promises of a PushChannel and what settles them, for a channel whose end is an
 * event: `confirm` says whether the subscription took, `finish` ends it (and a channel
 * that ends before confirming was not ready).
 */
export function channelSignals() {
  let confirm!: (listening: boolean) => void;
  const ready = new Promise<boolean>((resolve) => {
    confirm = resolve;
  });
  let finish!: () => void;
  const ended = new Promise<void>((resolve) => {
    finish = resolve;
  }).finally(() => confirm(false));
  return { ready, confirm, ended, finish };
}

export interface PushedQueue {
  subscribe(onPush: (push: Push) => void): PushChannel;
  /** Serves the queue (the expiry path) and says where this waiter stands; or makes it leave. */
  check(leave: boolean): Promise<QueueStatus>;
}

/** One request's way into a store's own queue, as a backend supplies it. */
export interface StoreQueue extends PushedQueue {
  /** The store's acquire with this wait: a grant or a refusal now, or a place in the queue. */
  enqueue(waitMs: number): Promise<QueueStatus>;
  /** Frees a grant that nobody will hear of. */
  release(token: string): Promise<unknown>;
}

/** Backend.acquire for such a store: a request that does not wait is never queued. */
export function finalResult(status: QueueStatus): AcquireResult {
  if (status.queued) throw new LockError("Internal", "a try-once acquire was queued");
  return status.result;
}

/**
 * Backend.acquireQueued for such a store. When a store call fails, the store may have
 * queued the request, or served it, before the failure: the waiter leaves, best effort,
 * so that its entry does not hold back the waiters behind it until its deadline.
 */
export async function acquireInStoreQueue(
  queue: StoreQueue,
  keepGrant: boolean,
  { waitMs, signal, waitUntil, onQueued }: QueuedWaitOptions,
): Promise<AcquireResult> {
  const deadline = Date.now() + waitMs;
  try {
    const first = await queue.enqueue(waitMs);
    if (!first.queued) return first.result;
    onQueued?.();
    return await new PushedWaiter(queue, deadline, signal).run(first);
  } catch (error) {
    const leaving = leaveAfterFailure(queue, keepGrant);
    waitUntil?.(leaving);
    throw error;
  }
}

/** `keepGrant`: a retry may still ask for the grant by its idempotency key. */
async function leaveAfterFailure(queue: StoreQueue, keepGrant: boolean): Promise<void> {
  try {
    const status = await queue.check(true);
    if (!status.queued && status.result.ok && !keepGrant) await queue.release(status.result.token);
  } catch {
    // The store is still failing: the entry expires with its deadline.
  }
}

/** How long after the blocker's expiry a waiter behind the head asks, per place in line. */
const STAGGER_MS = 15;
const MAX_STAGGER_MS = 150;
/** The shortest pause between two checks of one waiter. */
const MIN_RECHECK_MS = 5;
/** How long a subscription may take to be confirmed before the waiter stops relying on it. */
const SUBSCRIBE_TIMEOUT_MS = 2_000;
/** A waiter whose channel fails resubscribes (and asks the store) after this, doubling up to the max. */
const RESUBSCRIBE_MS = 250;
const MAX_RESUBSCRIBE_MS = 4_000;

class PushedWaiter {
  private delivered: AcquireResult | undefined;
  private wakeAtLocalMs = 0;
  private rank = 0;
  private offsetMs = 0;
  private current: PushChannel | undefined;
  private channelDown = false;
  private resubscribeMs = RESUBSCRIBE_MS;
  private woken = false;
  private nudge: (() => void) | undefined;
  private readonly wake = () => {
    this.woken = true;
    this.nudge?.();
  };

  constructor(
    private readonly queue: PushedQueue,
    private readonly deadline: number,
    private readonly signal: AbortSignal,
  ) {}

  async run(first: Queued): Promise<AcquireResult> {
    this.learn(first);
    this.signal.addEventListener("abort", this.wake);
    let channel = this.open();
    try {
      let status = await this.checkOnceSubscribed(channel);
      for (;;) {
        if (!status.queued) return status.result;
        if (this.delivered) return this.delivered;
        if (this.signal.aborted || Date.now() >= this.deadline) return await this.leave();
        if (this.channelDown) {
          // Without a channel nothing is pushed: resubscribe after a pause, then ask the store.
          this.current = undefined; // its end, which closing it causes, must not cut the pause short
          channel.close();
          await this.sleepUntil(Math.min(this.deadline, Date.now() + this.resubscribeMs));
          this.resubscribeMs = Math.min(this.resubscribeMs * 2, MAX_RESUBSCRIBE_MS);
          if (this.delivered || this.signal.aborted || Date.now() >= this.deadline) continue;
          channel = this.open();
          status = await this.checkOnceSubscribed(channel);
          continue;
        }
        const timedOut = await this.sleepUntil(Math.min(this.deadline, this.wakeAtLocalMs));
        if (timedOut && !this.delivered && !this.channelDown && Date.now() < this.deadline) {
          status = await this.check(false);
        }
      }
    } finally {
      this.current = undefined;
      channel.close();
      this.signal.removeEventListener("abort", this.wake);
    }
  }

  /** Once subscribed nothing can be missed; one check (or the record the subscription showed) covers what came before. */
  private async checkOnceSubscribed(channel: PushChannel): Promise<QueueStatus> {
    const subscribed = await this.until(channel.ready, Math.min(this.deadline, Date.now() + SUBSCRIBE_TIMEOUT_MS));
    if (subscribed) this.resubscribeMs = RESUBSCRIBE_MS;
    else this.channelDown = true;
    const shown = subscribed ? channel.current?.() : undefined;
    if (shown?.queued) this.learn(shown);
    return shown ?? this.check(false);
  }

  /** Leaves the queue; a handoff that came first is kept (the route gives it back if no one wants it). */
  private async leave(): Promise<AcquireResult> {
    const status = await this.check(true);
    if (!status.queued) return status.result;
    return { ok: false, reason: "locked", serverTimeMs: status.serverTimeMs, retryAtMs: status.serverTimeMs };
  }

  private open(): PushChannel {
    const channel = this.queue.subscribe((push) => this.hear(push));
    this.current = channel;
    this.channelDown = false;
    void channel.ended.then(() => {
      if (this.current !== channel) return; // a channel this waiter already replaced
      this.channelDown = true;
      this.wake();
    });
    return channel;
  }

  private hear(push: Push): void {
    if ("outcome" in push) this.delivered = push.outcome;
    else if (push.retryAtMs > 0) this.wakeAtLocalMs = this.localTimeOf(push.retryAtMs);
    this.wake();
  }

  private async check(leave: boolean): Promise<QueueStatus> {
    const status = await this.queue.check(leave);
    if (status.queued) this.learn(status);
    return status;
  }

  private learn(status: Queued): void {
    this.rank = status.rank;
    this.offsetMs = status.serverTimeMs - Date.now();
    const wakeAt = status.retryAtMs > 0 ? this.localTimeOf(status.retryAtMs) : this.deadline;
    // Two clocks never agree exactly: a blocker not yet expired in the store is asked about again a little later.
    this.wakeAtLocalMs = Math.max(wakeAt, Date.now() + MIN_RECHECK_MS);
  }

  /** A store time on this machine's clock, staggered by place in line so that the head asks first. */
  private localTimeOf(storeTimeMs: number): number {
    return storeTimeMs - this.offsetMs + 1 + Math.min(MAX_STAGGER_MS, this.rank * STAGGER_MS);
  }

  /** Sleeps until `atMs` or a wake (kept if it came while awake); true if the time came. */
  private sleepUntil(atMs: number): Promise<boolean> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve(false);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(true), Math.max(0, atMs - Date.now()));
      const done = (timedOut: boolean) => {
        clearTimeout(timer);
        this.nudge = undefined;
        this.woken = false;
        resolve(timedOut);
      };
      this.nudge = () => done(false);
    });
  }

  /** The value of `ready` if it settles before `atMs` (and no abort comes first); false otherwise. */
  private async until(ready: Promise<boolean>, atMs: number): Promise<boolean> {
    let value: boolean | undefined;
    void ready.then((settled) => {
      value = settled;
      this.wake();
    });
    while (value === undefined && !this.signal.aborted && Date.now() < atMs) await this.sleepUntil(atMs);
    return value === true;
  }
}
