/**
 * One logical acquire: attempts until granted, out of time, or out of retries. Each
 * attempt asks the server to wait for the key (at most MAX_WAIT_PER_REQUEST_MS, then
 * the SDK re-issues); attempts are paced by the backoff so that a server that answers
 * at once is not hammered. Every attempt carries the same idempotency key, so an
 * attempt retried after a lost answer returns the grant it may have made instead of a
 * second grant or a false "locked".
 */
import { retryDelay } from "./backoff.ts";
import { checkClock } from "./clock-check.ts";
import type { Context } from "./context.ts";
import { isLockError, type LockError } from "./errors.ts";
import { DEFAULT_TIMEOUT_MS } from "./http.ts";
import { createLease, notAcquired } from "./lease.ts";
import { monotonic, sleep } from "./timing.ts";
import type { AcquireOptions, AcquireResult, RetryOptions } from "./types.ts";

/** The server's default wait cap; asking for no more keeps each request's deadline bounded. */
export const MAX_WAIT_PER_REQUEST_MS = 25_000;

/** Retries of one attempt after a lost answer or an unavailable service. */
const TRANSIENT_RETRIES = 2;

type AcquireAnswer =
  | { ok: true; lockId: string; fence: string; expiresAtMs: number; serverTimeMs: number }
  | { ok: false; reason: "locked" };

export async function acquire(ctx: Context, options: AcquireOptions): Promise<AcquireResult> {
  const { key, signal, retry = {}, waitMs = 0, ttlMs = 30_000, permits, limit } = options;
  const mode = options.mode ?? ((permits ?? limit) ? "shared" : "exclusive");
  const maxRetries = retry.maxRetries ?? Number.POSITIVE_INFINITY;
  const idempotencyKey = options.idempotencyKey ?? randomKey();
  await checkClock(ctx, signal);
  const deadline = monotonic() + waitMs;
  let notGranted = 0;
  let failures = 0;
  for (;;) {
    const started = monotonic();
    const wait = Math.min(Math.max(0, Math.ceil(deadline - started)), MAX_WAIT_PER_REQUEST_MS);
    try {
      const answer = await ctx.request<AcquireAnswer>(
        "/v1/locks/acquire",
        { key, ttlMs, mode, permits, limit, waitMs: wait, idempotencyKey },
        // After a server-side wait, serverTimeMs says little about the clock offset.
        { signal, timeoutMs: (ctx.options.timeoutMs ?? DEFAULT_TIMEOUT_MS) + wait, sample: wait === 0 },
      );
      if (answer.body.ok) {
        ctx.emit({ type: "acquire", ok: true, fence: answer.body.fence }, key, answer.body.lockId);
        return createLease(ctx, answer.body, answer.sentAt, { key, mode, ttlMs, autoExtend: !!options.autoExtend });
      }
    } catch (error) {
      const pause = isLockError(error) ? pauseBeforeRetry(error, ++failures, retry) : undefined;
      if (pause === undefined || ((error as LockError).code === "RateLimited" && started + pause > deadline)) {
        ctx.emit({ type: "acquire", ok: false, reason: (error as LockError).code }, key);
        throw error;
      }
      await sleep(pause, signal);
      continue;
    }
    notGranted++;
    const now = monotonic();
    if (notGranted > maxRetries || now >= deadline) {
      ctx.emit({ type: "acquire", ok: false }, key);
      return notAcquired();
    }
    // A server that waited has already spent the pause; one that answered at once has not.
    const pause = Math.min(retryDelay(notGranted, retry), deadline - now) - (now - started);
    if (pause > 0) await sleep(pause, signal);
  }
}

/**
 * How long to pause before retrying after `error`, or undefined when it must not be
 * retried: RateLimited waits out Retry-After (if it fits the caller's wait); a lost
 * answer or an unavailable service is retried a couple of times, even when the caller
 * did not ask to wait, because the idempotency key makes that safe.
 */
function pauseBeforeRetry(error: LockError, failures: number, retry: RetryOptions): number | undefined {
  if (error.code === "RateLimited") return error.retryAfterMs ?? retryDelay(failures, retry);
  const transient = error.code === "NetworkTimeout" || error.code === "ServiceUnavailable";
  return transient && failures <= TRANSIENT_RETRIES ? retryDelay(failures, retry) : undefined;
}

/** 128 random bits; getRandomValues also works in insecure browser contexts, unlike randomUUID. */
function randomKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}
