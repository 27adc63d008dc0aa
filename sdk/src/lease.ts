/**
 * A granted lease and its health. The lease is proven held until `sentAt + remaining
 * - margin`, where `sentAt` is when the request that returned the grant (or the last
 * successful extend) was SENT: the server read its clock after that moment, so the
 * lease cannot end earlier, whatever the network or the caller's wall clock did.
 * `lock.signal` aborts at that deadline unless a newer proof moved it, and at once
 * when an extend finds the lease gone. The deadline is watched on both clocks: the
 * monotonic one stops while the machine sleeps (the server's clock does not), and the
 * wall clock may be stepped; whichever says "passed" first wins. Background work never
 * rejects unhandled.
 */
import { retryDelay } from "./backoff.ts";
import type { Context } from "./context.ts";
import { LockError } from "./errors.ts";
import { type Answer, DEFAULT_TIMEOUT_MS } from "./http.ts";
import { backgroundTimer, monotonic, sleep, wall } from "./timing.ts";
import type { ExtendResult, Lock, LockEvent, Mode, NotAcquired, ReleaseResult } from "./types.ts";

/** Runtimes without Symbol.asyncDispose get the well-known fallback that transpilers use. */
export const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for("Symbol.asyncDispose");

/** Not granted: nothing to release or extend, and nothing to dispose (as syncguard's failed result). */
const notHeldAnswer = async () => ({ ok: false }) as const;
export const notAcquired = (): NotAcquired => ({
  ok: false,
  reason: "locked",
  release: notHeldAnswer,
  extend: notHeldAnswer,
  [asyncDispose]: async () => {},
});

/** The default margin: 10 % of the remaining lease, at most this much. */
const MAX_MARGIN_MS = 1000;

/** How often a held lease re-checks its deadline, so that a wake from sleep is noticed. */
const WATCH_INTERVAL_MS = 1000;
/** A release that failed for a passing reason is sent again this many times (~0.1–0.4 s apart). */
const RELEASE_RETRIES = 3;
const TRANSIENT = ["NetworkTimeout", "ServiceUnavailable", "RateLimited"];

export interface Grant {
  lockId: string;
  fence: string;
  /** Both in the server's clock. */
  expiresAtMs: number;
  serverTimeMs: number;
}

export interface LeaseSpec {
  key: string;
  mode: Mode;
  ttlMs: number;
  autoExtend: boolean | undefined;
}

type Timer = ReturnType<typeof setTimeout> | undefined;

/** The lease that `answer` granted, proven from the moment its request was sent. */
export function createLease(ctx: Context, answer: Answer<Grant>, spec: LeaseSpec): Lock {
  const { request, options, clock } = ctx;
  const { key, autoExtend } = spec;
  const { lockId } = answer.body;
  const emit = (event: LockEvent) => ctx.emit(event, key, lockId);
  const lease = new AbortController();
  const { signal } = lease;
  let { ttlMs } = spec;
  let expiresAtMs = 0;
  let deadline = 0; // monotonic
  let wallDeadline = 0;
  let deadlineTimer: Timer;
  let extendTimer: Timer;
  let notHeld = false;
  let extending: Promise<unknown> = Promise.resolve();
  let releasing: Promise<ReleaseResult> | undefined;
  let disposing: Promise<void> | undefined;

  const end = (why: string) => {
    clearTimeout(deadlineTimer);
    clearTimeout(extendTimer);
    lease.abort(new LockError("Aborted", why));
  };

  const lose = (why: "not-held" | "deadline") => {
    if (signal.aborted) return;
    notHeld = why === "not-held";
    end(`lease lost (${why})`);
    emit({ type: "lost", ok: false, reason: why });
  };

  /** A request sent at `sentAt` proved the lease held until `body.expiresAtMs` (server clock). */
  const proven = ({ body, sentAt }: Answer<Omit<Grant, "lockId" | "fence">>) => {
    const remaining = body.expiresAtMs - body.serverTimeMs;
    deadline = sentAt + remaining - (options.safetyMarginMs ?? Math.min(MAX_MARGIN_MS, remaining / 10));
    wallDeadline = wall() + deadline - monotonic();
    expiresAtMs = clock.toLocal(body.expiresAtMs);
    watch();
    // A third of the way into the lease, or halfway to its deadline when a wide safety margin comes first.
    if (autoExtend && !signal.aborted)
      keepAlive(Math.min(remaining / 3, (deadline - sentAt) / 2) + sentAt - monotonic());
  };

  const watch = () => {
    clearTimeout(deadlineTimer);
    const left = Math.min(deadline - monotonic(), wallDeadline - wall());
    if (left <= 0) lose("deadline");
    else deadlineTimer = backgroundTimer(watch, Math.min(left, WATCH_INTERVAL_MS));
  };

  const keepAlive = (ms: number) => {
    clearTimeout(extendTimer);
    extendTimer = backgroundTimer(
      () =>
        extend().catch((error: LockError) => {
          emit({ type: "extend", ok: false, reason: error.code });
          // Try again while the lease is still proven, a third of the way to its deadline each time.
          if (!signal.aborted) keepAlive(Math.max(50, (deadline - monotonic()) / 3));
        }),
      ms,
    );
  };

  const extend = (newTtlMs = ttlMs, { signal: caller }: { signal?: AbortSignal } = {}): Promise<ExtendResult> => {
    // One extend at a time, so that the newest answer is also the one the server applied last.
    const result = extending.then(async (): Promise<ExtendResult> => {
      if (signal.aborted) return { ok: false };
      // An answer after the deadline could not save the lease, so do not wait for one.
      const timeoutMs = Math.max(1, Math.min(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, deadline - monotonic()));
      const renewed = await request<Grant & { ok: boolean }>(
        "/v1/locks/extend",
        { lockId, ttlMs: newTtlMs },
        { signal: caller, timeoutMs },
      );
      const { body } = renewed;
      if (body.ok && !signal.aborted) {
        ttlMs = newTtlMs;
        proven(renewed);
        emit({ type: "extend", ok: true });
        return { ok: true, expiresAtMs };
      }
      if (!body.ok) lose("not-held");
      return { ok: false };
    });
    extending = result.catch(() => {});
    return result;
  };

  // Only the call that releases the lease answers ok: true. Every later call answers
  // ok: false without a request (as syncguard's handle does); one made while a release
  // is in flight waits for it, and takes over if it fails.
  const release = (options: { signal?: AbortSignal } = {}): Promise<ReleaseResult> => {
    if (releasing)
      return releasing.then(
        () => ({ ok: false }),
        () => release(options),
      );
    releasing = (async (): Promise<ReleaseResult> => {
      end("released");
      if (notHeld) return { ok: false };
      // A fresh request with only the caller's explicit signal: never the acquisition's.
      // A transient failure is retried a few times, soon: a release that gives up leaves the
      // key held until its TTL. A retry of a release whose answer was lost finds the grant
      // gone: the lease was live when it began, so that "not held" is this release's own.
      for (let attempt = 1; ; attempt++) {
        try {
          const { ok } = (await request<{ ok: boolean }>("/v1/locks/release", { lockId }, { signal: options.signal }))
            .body;
          emit({ type: "release", ok: ok || attempt > 1 });
          return { ok: ok || attempt > 1 };
        } catch (error) {
          if (attempt > RELEASE_RETRIES || !TRANSIENT.includes((error as LockError).code)) throw error;
          await sleep(retryDelay(attempt, {}), options.signal);
        }
      }
    })().catch((error: LockError) => {
      releasing = undefined; // a failed release may be retried
      emit({ type: "release", ok: false, reason: error.code });
      throw error;
    });
    return releasing;
  };

  const lock: Lock = {
    ok: true,
    key,
    lockId,
    fence: answer.body.fence,
    mode: spec.mode,
    get expiresAtMs() {
      return expiresAtMs;
    },
    signal,
    extend,
    release,
    [asyncDispose]: () =>
      (disposing ??= release().then(
        () => {},
        (error) => ctx.releaseFailed(error, lockId, key),
      )),
  };
  proven(answer);
  return lock;
}
