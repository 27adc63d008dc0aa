/**
 * Client-time deployments (an instance clock decides expiry): before every acquire,
 * compare the bound on our clock offset with the tolerance, and warn or refuse.
 */
import type { Context } from "./context.ts";
import { LockError } from "./errors.ts";

export const DEFAULT_CLOCK_TOLERANCE_MS = 1000;

export async function checkClock(ctx: Context, signal: AbortSignal | undefined): Promise<void> {
  const { options, clock } = ctx;
  if (options.timeAuthority !== "client") return;
  const toleranceMs = options.clockToleranceMs ?? DEFAULT_CLOCK_TOLERANCE_MS;
  const within = () => (clock.estimate()?.maxOffsetMs ?? Infinity) <= toleranceMs;
  // No estimate yet, or a poor one (a slow sample widens the bound; a first request
  // also pays for the connection): take up to two fresh samples.
  for (let i = 0; i < 2 && !within(); i++) await ctx.request("/v1/time", undefined, { signal });
  const estimate = clock.estimate();
  if (!estimate || within()) {
    ctx.skewWarned = false;
    return;
  }
  const message = `clock offset up to ${Math.round(estimate.maxOffsetMs)} ms exceeds the ${toleranceMs} ms tolerance`;
  ctx.emit({ type: "clock-skew", ok: false, clock: estimate });
  if (options.onClockSkew === "throw") throw new LockError("ServiceUnavailable", message);
  // Warn once per excursion, not on every acquire.
  if (!ctx.skewWarned) console.warn(`holdfast: ${message}`);
  ctx.skewWarned = true;
}
