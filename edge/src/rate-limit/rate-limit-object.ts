/**
 * One Durable Object per tenant: the tenant's shared token bucket, from which every
 * isolate of the Worker leases tokens a batch at a time (shared/src/app/rate-limit/rate-limit.ts).
 * The bucket lives in memory only: an evicted object starts again with a full bucket,
 * which at worst lets one burst more through. A rate limit protects capacity; it is not
 * a safety property of the locks, so it is not worth a storage write per lease.
 */
import { DurableObject } from "cloudflare:workers";
import { type Budget, TokenBucket } from "@holdfast/shared";
import type { Env } from "../env.ts";

export class RateLimitObject extends DurableObject<Env> {
  private bucket: TokenBucket | undefined;

  /** Up to `wanted` tokens now, or when the next one will be there. */
  take(budget: Budget, wanted: number): { granted: number; retryAfterMs: number } {
    const now = Date.now();
    this.bucket ??= new TokenBucket(budget, now);
    return this.bucket.take(wanted, now, budget);
  }
}
