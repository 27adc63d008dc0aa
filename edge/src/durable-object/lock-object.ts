/**
 * One Durable Object per (tenant, key): the store for that key. Every operation is one
 * RPC and runs atomically in the object's single thread against its SQLite-backed
 * storage, by the object's clock. The fence counter lives in durable storage and is
 * never deleted — not by clean-up, idle eviction or redeploys — so fences never repeat.
 */

import { DurableObject } from "cloudflare:workers";
import {
  type AcquireRequest,
  type AcquireResult,
  acquireTransition,
  changeHolders,
  cloneState,
  type ExtendResult,
  extendTransition,
  FairQueue,
  type KeyBounds,
  type KeyRef,
  type KeyState,
  type LockRef,
  type LookupResult,
  lookupOf,
  type OwnsResult,
  ownsOf,
  pruneExpired,
  type ReleaseResult,
  releaseTransition,
} from "@holdfast/shared";
import type { Env } from "../env.ts";
import { inStorage } from "./errors.ts";

const STATE = "state";

/**
 * A key's state is one storage value, written whole on every change (SQLite-backed objects
 * take values up to 2 MiB): 1,000 holders keep each write near 150 KB. The queue lives in
 * memory, so 10,000 waiters cost nothing to storage.
 */
export const DURABLE_OBJECT_BOUNDS: KeyBounds = { holders: 1_000, waiters: 10_000 };

export class LockObject extends DurableObject<Env> {
  private readonly queue: FairQueue;
  /** The Worker's configured bounds, as its latest acquire brought them (R9). */
  private bounds: KeyBounds = DURABLE_OBJECT_BOUNDS;
  private alarmAtMs: number | undefined;
  private cached: KeyState | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.queue = new FairQueue({
      bounds: () => this.bounds,
      attempt: (request) => this.attempt(request),
      preview: (request) => acquireTransition(this.copy(), request, Date.now(), this.bounds).result,
      wakeAt: (timeMs) => this.wakeAt(timeMs),
      now: () => Date.now(),
    });
  }

  /**
   * Grants now, or parks the call in the object's fair queue for up to `waitMs`, and then
   * calls `onQueued` (a stub of the caller's function: one RPC back, only when given).
   */
  acquire(
    request: AcquireRequest,
    waitMs: number,
    bounds: KeyBounds,
    onQueued?: () => unknown,
  ): Promise<AcquireResult> {
    this.bounds = bounds;
    const result = this.queue.acquire(request, waitMs);
    if (onQueued && this.queue.isWaiting(request.token)) void Promise.resolve(onQueued()).catch(() => {});
    return result;
  }

  /** The waiter's client went away: leave the queue. */
  cancelWait(token: string): boolean {
    return this.queue.cancel(token);
  }

  release(ref: LockRef): ReleaseResult {
    const result = changeHolders(
      this.copy(),
      (state) => releaseTransition(state, ref, Date.now()),
      this.saveChanged,
      undefined,
    );
    // The head is served in a microtask: still before any other call reaches the object
    // (calls arrive as tasks), but after this answer is handed back, so that the release's
    // reply does not queue behind the replies of the grants it makes.
    if (result.ok) queueMicrotask(() => this.queue.dispatch());
    return result;
  }

  extend(ref: LockRef, ttlMs: number): ExtendResult {
    return changeHolders(
      this.copy(),
      (state) => extendTransition(state, ref, ttlMs, Date.now()),
      this.saveChanged,
      this.queue,
    );
  }

  owns(ref: LockRef): OwnsResult {
    return ownsOf(this.load(), ref, Date.now());
  }

  lookup(ref: KeyRef): LookupResult {
    const state = this.load();
    return lookupOf(state?.tenant === ref.tenant ? state : null, Date.now());
  }

  /** Wakes waiters when a blocking holder expires and clears expired holders. Safety never depends on it. */
  override async alarm(): Promise<void> {
    this.alarmAtMs = undefined;
    const state = this.copy();
    if (state && pruneExpired(state, Date.now())) this.save(state);
    this.queue.dispatch();
  }

  private attempt(request: AcquireRequest): AcquireResult {
    const { state, result, changed } = acquireTransition(this.copy(), request, Date.now(), this.bounds);
    if (changed) this.save(state);
    return result;
  }

  /** Storage is read once per instance: this object is the only writer of its state. */
  private load(): KeyState | null {
    if (this.cached === undefined) this.cached = inStorage(() => this.ctx.storage.kv.get<KeyState>(STATE)) ?? null;
    return this.cached;
  }

  // Transitions mutate a copy, so a transition that throws leaves the stored state untouched.
  private copy(): KeyState | null {
    const state = this.load();
    return state ? cloneState(state) : null;
  }

  private readonly saveChanged = (state: KeyState, changed: boolean): void => {
    if (changed) this.save(state);
  };

  private save(state: KeyState): void {
    this.persist(state);
    this.cached = state;
  }

  /**
   * Synchronous write: committed with the event, and the reply waits for it (output gate).
   * Protected only so that the benchmark's volatile variant can measure storage's share.
   */
  protected persist(state: KeyState): void {
    inStorage(() => this.ctx.storage.kv.put(STATE, state));
  }

  private wakeAt(timeMs: number): void {
    if (this.alarmAtMs !== undefined && this.alarmAtMs <= timeMs) return;
    this.alarmAtMs = timeMs;
    // Best effort: without the alarm a waiter is still served by the next release or its own deadline.
    this.ctx.storage.setAlarm(timeMs).catch(() => {
      this.alarmAtMs = undefined;
    });
  }
}
