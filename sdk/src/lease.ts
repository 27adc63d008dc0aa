/**
 * A granted lease and its health. The lease is proven held until `sentAt + remaining
 * - margin`, where `sentAt` is when the request that returned the grant (or the last
 * successful extend) was SENT: the server read its clock after that moment, so the
 * lease cannot end earlier, whatever the network or the caller's wall clock did.
 * `lock.signal` aborts at that deadline unless a newer proof moved it, and at once
 * when an extend finds the lease gone. Background work never rejects unhandled.
 */
import type { Context } from "./context.ts";
import { LockError } from "./errors.ts";
import { DEFAULT_TIMEOUT_MS } from "./http.ts";
import { backgroundTimer, monotonic } from "./timing.ts";
import type { ExtendResult, Lock, Mode, NotAcquired, ReleaseResult } from "./types.ts";

/** Runtimes without Symbol.asyncDispose get the well-known fallback that transpilers use. */
export const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for("Symbol.asyncDispose");

export const notAcquired = (): NotAcquired => ({ ok: false, reason: "locked", [asyncDispose]: async () => {} });

/** The default margin: 10 % of the remaining lease, at most this much. */
const MAX_MARGIN_MS = 1000;

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
  autoExtend: boolean;
}

type ExtendAnswer = { ok: boolean; expiresAtMs: number; serverTimeMs: number };

export function createLease(ctx: Context, grant: Grant, sentAt: number, spec: LeaseSpec): Lock {
  const { key } = spec;
  const { lockId } = grant;
  const lease = new AbortController();
  let ttlMs = spec.ttlMs;
  let expiresAtMs = 0;
  let deadline = 0; // monotonic
  let deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  let extendTimer: ReturnType<typeof setTimeout> | undefined;
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
    if (lease.signal.aborted) return;
    notHeld = why === "not-held";
    end(notHeld ? "lease lost: the server no longer holds it" : "lease unproven: no extend succeeded in time");
    ctx.emit({ type: "lost", ok: false, reason: why }, key, lockId);
  };

  const proven = (sentAt: number, serverExpiresAtMs: number, serverTimeMs: number) => {
    const remaining = serverExpiresAtMs - serverTimeMs;
    deadline = sentAt + remaining - (ctx.options.safetyMarginMs ?? Math.min(MAX_MARGIN_MS, remaining / 10));
    expiresAtMs = ctx.clock.toLocal(serverExpiresAtMs);
    clearTimeout(deadlineTimer);
    deadlineTimer = backgroundTimer(() => lose("deadline"), deadline - monotonic());
    if (spec.autoExtend) keepAlive(sentAt + remaining / 3 - monotonic());
  };

  const keepAlive = (ms: number) => {
    clearTimeout(extendTimer);
    extendTimer = backgroundTimer(
      () =>
        extend().catch((error: LockError) => {
          ctx.emit({ type: "extend", ok: false, reason: error.code }, key, lockId);
          // Try again while the lease is still proven, a third of the way to its deadline each time.
          if (!lease.signal.aborted) keepAlive(Math.max(50, (deadline - monotonic()) / 3));
        }),
      ms,
    );
  };

  const extend = (newTtlMs = ttlMs, options: { signal?: AbortSignal } = {}): Promise<ExtendResult> => {
    const run = async (): Promise<ExtendResult> => {
      if (lease.signal.aborted) return { ok: false };
      // An answer after the deadline could not save the lease, so do not wait for one.
      const timeoutMs = Math.max(1, Math.min(ctx.options.timeoutMs ?? DEFAULT_TIMEOUT_MS, deadline - monotonic()));
      const answer = await ctx.request<ExtendAnswer>(
        "/v1/locks/extend",
        { lockId, ttlMs: newTtlMs },
        { signal: options.signal, timeoutMs },
      );
      if (lease.signal.aborted) return { ok: false };
      if (!answer.body.ok) {
        lose("not-held");
        return { ok: false };
      }
      ttlMs = newTtlMs;
      proven(answer.sentAt, answer.body.expiresAtMs, answer.body.serverTimeMs);
      ctx.emit({ type: "extend", ok: true }, key, lockId);
      return { ok: true, expiresAtMs };
    };
    // One extend at a time, so that the newest answer is also the one the server applied last.
    const result = extending.then(run);
    extending = result.catch(() => {});
    return result;
  };

  const release = (options: { signal?: AbortSignal } = {}): Promise<ReleaseResult> => {
    releasing ??= (async () => {
      const gone = notHeld;
      end("released");
      if (gone) return { ok: false };
      // A fresh request with only the caller's explicit signal: never the acquisition's.
      const answer = await ctx.request<{ ok: boolean }>("/v1/locks/release", { lockId }, { signal: options.signal });
      ctx.emit({ type: "release", ok: answer.body.ok }, key, lockId);
      return { ok: answer.body.ok };
    })().catch((error: LockError) => {
      releasing = undefined; // a failed release may be retried
      ctx.emit({ type: "release", ok: false, reason: error.code }, key, lockId);
      throw error;
    });
    return releasing;
  };

  const lock: Lock = {
    ok: true,
    key,
    lockId,
    fence: grant.fence,
    mode: spec.mode,
    get expiresAtMs() {
      return expiresAtMs;
    },
    signal: lease.signal,
    extend,
    release,
    [asyncDispose]: () =>
      (disposing ??= release().then(
        () => {},
        (error) => ctx.releaseFailed(error, lockId, key),
      )),
  };
  proven(sentAt, grant.expiresAtMs, grant.serverTimeMs);
  return lock;
}
