/**
 * Per-tenant request budgets (`429 RateLimited` with `Retry-After`). Each tenant has its
 * own token bucket, so one tenant cannot spend another's budget; budgets are configured
 * per tenant (`HOLDFAST_RATE_LIMITS`, see rate-limit-config.ts).
 *
 * Where instances share a store, they share the budget: `leasedRateLimiter` takes tokens
 * from a shared bucket (on Workers, one Durable Object per tenant) a batch at a time and
 * spends them locally, so that most requests cost no round trip. What an instance may
 * overspend is bounded by one batch, which it must use within a second.
 */

/** A tenant's budget: `perSecond` on average, `burst` at once. */
export interface Budget {
  perSecond: number;
  burst: number;
}

export type RateVerdict = { ok: true } | { ok: false; retryAfterMs: number };

export type RateLimiter = (tenant: string) => Promise<RateVerdict>;

/** Which budget a tenant has; null: unlimited. */
export type BudgetOf = (tenant: string) => Budget | null;

/** A token bucket: full at `burst`, refilled continuously at `perSecond`. */
export class TokenBucket {
  private tokens: number;
  private atMs: number;

  constructor(
    private budget: Budget,
    nowMs: number,
  ) {
    this.tokens = budget.burst;
    this.atMs = nowMs;
  }

  /** Takes up to `wanted` whole tokens; when none is there, says when one will be. */
  take(wanted: number, nowMs: number, budget = this.budget): { granted: number; retryAfterMs: number } {
    this.budget = budget;
    this.tokens = Math.min(budget.burst, this.tokens + (Math.max(0, nowMs - this.atMs) * budget.perSecond) / 1000);
    this.atMs = nowMs;
    const granted = Math.min(wanted, Math.floor(this.tokens));
    if (granted >= 1) {
      this.tokens -= granted;
      return { granted, retryAfterMs: 0 };
    }
    return { granted: 0, retryAfterMs: Math.ceil(((1 - this.tokens) * 1000) / budget.perSecond) };
  }
}

const everyTenant =
  (budget: Budget): BudgetOf =>
  () =>
    budget;

/** One instance's buckets: the budget is shared by whatever this instance serves. */
export function memoryRateLimiter(options: (Budget | { budgetOf: BudgetOf }) & { now?: () => number }): RateLimiter {
  const now = options.now ?? Date.now;
  const budgetOf = "budgetOf" in options ? options.budgetOf : everyTenant(options);
  const buckets = new Map<string, TokenBucket>();
  return async (tenant) => {
    const budget = budgetOf(tenant);
    if (budget === null) return { ok: true };
    const bucket = remembered(buckets, tenant, () => new TokenBucket(budget, now()));
    const { granted, retryAfterMs } = bucket.take(1, now(), budget);
    return granted === 1 ? { ok: true } : { ok: false, retryAfterMs };
  };
}

/** Takes up to `wanted` tokens of the tenant's shared bucket. */
export type LeaseTokens = (
  tenant: string,
  budget: Budget,
  wanted: number,
) => Promise<{ granted: number; retryAfterMs: number }>;

/** How long leased tokens stay spendable: they are a share of this second's budget. */
const LEASE_LIFETIME_MS = 1000;
/** Tenants an instance keeps state for; beyond, the longest-unused is forgotten (it starts afresh). */
const MAX_TENANTS = 10_000;

interface LeasedTokens {
  tokens: number;
  untilMs: number;
  /** Until when the shared bucket said it is empty. */
  emptyUntilMs: number;
  /** How many tokens the next lease asks for: what this instance spends in a lease's lifetime. */
  batch: number;
  pending: Promise<void> | undefined;
}

/**
 * Tokens leased from a shared bucket a batch at a time. The batch follows this
 * instance's own demand: it doubles when a lease runs out before its lifetime ends and
 * halves when most of one expires unused (unused tokens are lost, not returned), up to a
 * twentieth of the burst. So an instance that serves a request now and then takes one
 * token at a time, and many quiet instances cannot drain a tenant's budget between them.
 */
export function leasedRateLimiter(options: {
  budgetOf: BudgetOf;
  lease: LeaseTokens;
  now?: () => number;
}): RateLimiter {
  const now = options.now ?? Date.now;
  const local = new Map<string, LeasedTokens>();
  return async (tenant) => {
    const budget = options.budgetOf(tenant);
    if (budget === null) return { ok: true };
    const entry = remembered(local, tenant, () => ({
      tokens: 0,
      untilMs: 0,
      emptyUntilMs: 0,
      batch: 1,
      pending: undefined,
    }));
    for (;;) {
      if (entry.tokens >= 1 && now() < entry.untilMs) {
        entry.tokens--;
        return { ok: true };
      }
      // The shared bucket said when its next token comes: no need to ask again before.
      if (now() < entry.emptyUntilMs) return { ok: false, retryAfterMs: entry.emptyUntilMs - now() };
      if (!entry.pending) {
        const current = entry;
        const cap = Math.max(1, Math.ceil(budget.burst / 20));
        if (now() < current.untilMs)
          current.batch = Math.min(cap, current.batch * 2); // ran out early
        else if (current.tokens > current.batch / 2) current.batch = Math.max(1, Math.ceil(current.batch / 2));
        current.batch = Math.min(cap, current.batch);
        current.pending = options
          .lease(tenant, budget, current.batch)
          .then(({ granted, retryAfterMs }) => {
            current.tokens = granted;
            current.untilMs = now() + LEASE_LIFETIME_MS;
            if (granted < 1) {
              current.emptyUntilMs = now() + retryAfterMs;
              throw Object.assign(new Error("over budget"), { retryAfterMs });
            }
          })
          .finally(() => {
            current.pending = undefined;
          });
      }
      try {
        await entry.pending;
      } catch (error) {
        const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
        if (typeof retryAfterMs === "number") return { ok: false, retryAfterMs };
        throw error;
      }
    }
  };
}

/** The tenant's entry, moved to the back (most recently used); the front one goes past MAX_TENANTS. */
function remembered<T>(map: Map<string, T>, tenant: string, create: () => T): T {
  const entry = map.get(tenant) ?? create();
  map.delete(tenant);
  map.set(tenant, entry);
  if (map.size > MAX_TENANTS) map.delete(map.keys().next().value as string);
  return entry;
}
