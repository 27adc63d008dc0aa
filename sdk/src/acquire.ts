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
import { type Answer, DEFAULT_TIMEOUT_MS } from "./http.ts";
import { createLease, type Grant, notAcquired } from "./lease.ts";
import { monotonic, sleep } from "./timing.ts";
import type { AcquireOptions, AcquireResult, RetryOptions } from "./types.ts";

/** The server's default wait cap; asking for no more keeps each request's deadline bounded. */
export const MAX_WAIT_PER_REQUEST_MS = 25_000;

/** Retries of one attempt after a lost answer or an unavailable service (reset by each answer). */
const TRANSIENT_RETRIES = 2;

/** Grace past the caller's deadline for an answer already on its way. */
const DEADLINE_GRACE_MS = 1000;

type AcquireAnswer =
  | { ok: true; lockId: string; fence: string; expiresAtMs: number; serverTimeMs: number }
  | { ok: false; reason: "locked" };

export async function acquire(ctx: Context, options: AcquireOptions): Promise<AcquireResult> {
  const { key, signal, retry = {}, waitMs = 0, ttlMs = 30_000, permits, limit } = options;
  const mode = options.mode ?? ((permits ?? limit) ? "shared" : "exclusive");
  const { maxRetries = Infinity } = retry;
  const idempotencyKey = options.idempotencyKey ?? randomKey();
  await checkClock(ctx, signal);
  const deadline = monotonic() + waitMs;
  let notGranted = 0;
  let failures = 0;
  for (;;) {
    const started = monotonic();
    const wait = Math.min(Math.max(0, Math.ceil(deadline - started)), MAX_WAIT_PER_REQUEST_MS);
    try {
      // A caller who waits is not kept much past its deadline by a silent service.
      const requestTimeout = (ctx.options.timeoutMs ?? DEFAULT_TIMEOUT_MS) + wait;
      const timeoutMs = waitMs > 0 ? Math.min(requestTimeout, deadline - started + DEADLINE_GRACE_MS) : requestTimeout;
      const answer = await ctx.request<AcquireAnswer>(
        "/v1/locks/acquire",
        { key, ttlMs, mode, permits, limit, waitMs: wait, idempotencyKey },
        // A waited answer is a poor clock sample, but the lowest-RTT filter replaces it
        // and without any sample expiresAtMs would stay in the server's clock.
        { signal, timeoutMs: Math.max(1, timeoutMs) },
      );
      const { body } = answer;
      if (body.ok) {
        const granted = answer as Answer<Grant>;
        const proof = wait > 0 ? await freshProof(ctx, granted, ttlMs, signal) : granted;
        if (proof) {
          ctx.emit({ type: "acquire", ok: true, fence: body.fence }, key, body.lockId);
          return createLease(ctx, proof, { key, mode, ttlMs, autoExtend: !!options.autoExtend });
        }
      }
    } catch (error) {
      const pause = isLockError(error) ? pauseBeforeRetry(error, ++failures, retry) : undefined;
      // Retries fit the caller's wait; a try-once acquire still gets its quick transient retries.
      const pastDeadline = waitMs > 0 && monotonic() + (pause ?? 0) > deadline;
      if (pause === undefined || pastDeadline || (waitsOut(error as LockError) && started + pause > deadline)) {
        ctx.emit({ type: "acquire", ok: false, reason: (error as LockError).code }, key);
        throw error;
      }
      await sleep(pause, signal);
      continue;
    }
    notGranted++;
    failures = 0; // the service answered: the transient budget is per attempt, not per acquisition
    const now = monotonic();
    if (notGranted > maxRetries || now >= deadline) {
      ctx.emit({ type: "acquire", ok: false }, key);
      return notAcquired();
    }
    // A server that waited has already spent the pause; one that answered at once has not.
    // A request the server held for its whole wait is re-issued at once.
    const serverWaited = wait > 0 && now - started >= wait * 0.9;
    const pause = serverWaited ? 0 : Math.min(retryDelay(notGranted, retry), deadline - now) - (now - started);
    if (pause > 0) await sleep(pause, signal);
  }
}

/**
 * A grant that arrived after a long server-side wait is proven only from the moment
 * its request was SENT, which may leave little or nothing of the lease. Renew it once
 * (one round trip, the same TTL) so the caller starts with a full, fresh proof. Returns
 * undefined when the grant had already expired by then (the caller keeps trying).
 */
async function freshProof(
  ctx: Context,
  answer: Answer<Grant>,
  ttlMs: number,
  signal: AbortSignal | undefined,
): Promise<Answer<Grant> | undefined> {
  const grant = answer.body;
  if (monotonic() - answer.sentAt <= ttlMs / 10) return answer;
  try {
    const renewed = await ctx.request<{ ok: boolean; expiresAtMs: number; serverTimeMs: number }>(
      "/v1/locks/extend",
      { lockId: grant.lockId, ttlMs },
      { signal },
    );
    // The renewal's expiresAtMs and serverTimeMs replace the grant's.
    return renewed.body.ok ? { body: { ...grant, ...renewed.body }, sentAt: renewed.sentAt } : undefined;
  } catch (error) {
    // Unproven and unrenewable: give the grant back rather than hand out a lease we cannot vouch for.
    await ctx.request("/v1/locks/release", { lockId: grant.lockId }).catch(() => {});
    throw error;
  }
}

/**
 * How long to pause before retrying after `error`, or undefined when it must not be
 * retried: RateLimited and CapacityExceeded (a key at its bound of holders or waiters)
 * wait out Retry-After (if it fits the caller's wait); a lost
 * answer or an unavailable service is retried a couple of times, even when the caller
 * did not ask to wait, because the idempotency key makes that safe.
 */
function pauseBeforeRetry(error: LockError, failures: number, retry: RetryOptions): number | undefined {
  if (waitsOut(error)) return error.retryAfterMs ?? retryDelay(failures, retry);
  const transient = error.code === "NetworkTimeout" || error.code === "ServiceUnavailable";
  return transient && failures <= TRANSIENT_RETRIES ? retryDelay(failures, retry) : undefined;
}

/** Refusals that say "not now": a tenant over its budget, a key at its bound. */
const waitsOut = (error: LockError) => error.code === "RateLimited" || error.code === "CapacityExceeded";

/** 128 random bits; getRandomValues also works in insecure browser contexts, unlike randomUUID. */
function randomKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}
