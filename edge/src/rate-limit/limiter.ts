/**
 * The Worker's rate limiter: tokens leased from the tenant's RateLimitObject, so that
 * every isolate and every location shares one budget per tenant. When the object cannot
 * be reached the request goes through (and the failure is logged): rate limits protect
 * capacity, and refusing every request while they are down would be the outage itself.
 */
import { budgetsFromEnv, leasedRateLimiter, type RateLimiter } from "@holdfast/shared";
import type { Env } from "../env.ts";

export function sharedRateLimiter(env: Env): RateLimiter {
  const namespace = env.RATE_LIMITS;
  return leasedRateLimiter({
    budgetOf: budgetsFromEnv(env.HOLDFAST_RATE_LIMITS),
    lease: async (tenant, budget, wanted) => {
      try {
        return await namespace.get(namespace.idFromName(tenant)).take(budget, wanted);
      } catch (error) {
        console.error("holdfast: rate limiter unavailable, request let through", error);
        return { granted: wanted, retryAfterMs: 0 };
      }
    },
  });
}
