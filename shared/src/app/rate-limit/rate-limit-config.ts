/**
 * `HOLDFAST_RATE_LIMITS`: each tenant's request budget, as JSON
 * `{"*": {"perSecond": 1000, "burst": 2000}, "shop": {"perSecond": 50}, "internal": null}`.
 * `"*"` is every tenant not named; `null` is unlimited; `burst` defaults to twice
 * `perSecond`. Unset, every tenant gets DEFAULT_BUDGET.
 */
import { parseJsonVariable } from "../config/config.ts";
import type { Budget, BudgetOf } from "./rate-limit.ts";

export const DEFAULT_BUDGET: Budget = { perSecond: 1000, burst: 2000 };

const VARIABLE = "HOLDFAST_RATE_LIMITS";

export function budgetsFromEnv(raw: string | undefined): BudgetOf {
  if (raw === undefined || raw.trim() === "") return () => DEFAULT_BUDGET;
  const parsed = parseJsonVariable(VARIABLE, raw);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${VARIABLE} must be a JSON object {"<tenant>" or "*": {"perSecond": n, "burst": n} or null}`);
  }
  const budgets = new Map<string, Budget | null>();
  for (const [tenant, value] of Object.entries(parsed)) budgets.set(tenant, budgetOf(`${VARIABLE}.${tenant}`, value));
  const fallback = budgets.has("*") ? (budgets.get("*") ?? null) : DEFAULT_BUDGET;
  return (tenant) => (budgets.has(tenant) ? (budgets.get(tenant) ?? null) : fallback);
}

function budgetOf(name: string, value: unknown): Budget | null {
  if (value === null) return null;
  const { perSecond, burst } = (typeof value === "object" ? value : {}) as { perSecond?: unknown; burst?: unknown };
  const positive = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n) && n > 0;
  if (!positive(perSecond)) throw new Error(`${name}.perSecond: a number of requests per second above 0`);
  if (burst !== undefined && !(positive(burst) && burst >= 1)) throw new Error(`${name}.burst: at least 1 request`);
  return { perSecond, burst: burst ?? Math.max(1, 2 * perSecond) };
}
