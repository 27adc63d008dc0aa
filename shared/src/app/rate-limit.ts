/** Per-tenant quotas. The memory limiter is per instance; stores may offer shared ones. */
export type RateLimiter = (tenant: string) => Promise<{ ok: true } | { ok: false; retryAfterMs: number }>;

/** A token bucket per tenant: `burst` requests at once, refilled at `perSecond`. */
export function memoryRateLimiter(options: { perSecond: number; burst: number; now?: () => number }): RateLimiter {
  const now = options.now ?? (() => Date.now());
  const buckets = new Map<string, { tokens: number; atMs: number }>();
  return async (tenant) => {
    const t = now();
    const bucket = buckets.get(tenant) ?? { tokens: options.burst, atMs: t };
    bucket.tokens = Math.min(options.burst, bucket.tokens + ((t - bucket.atMs) * options.perSecond) / 1000);
    bucket.atMs = t;
    buckets.set(tenant, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) * 1000) / options.perSecond) };
  };
}
