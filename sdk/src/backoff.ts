/** Delays between acquisition attempts, with the names and defaults of the library world. */
import type { RetryOptions } from "./types.ts";

export const RETRY_DEFAULTS = { maxRetries: 10, retryDelayMs: 100, backoff: "exponential", jitter: "equal" } as const;

/** Exponential growth stops here, so that a long wait keeps trying every few seconds. */
export const MAX_RETRY_DELAY_MS = 5000;

/**
 * The pause before attempt `retry + 1` (`retry` counts from 1): `retryDelayMs`, doubled
 * per retry when exponential, then jittered so that contenders spread out: "equal"
 * keeps half and randomises half, "full" randomises all of it.
 */
export function retryDelay(retry: number, options: RetryOptions, random: () => number = Math.random): number {
  const { retryDelayMs: base = RETRY_DEFAULTS.retryDelayMs, backoff, jitter } = options;
  // Anything but "fixed" is the default, exponential; anything but "none" or "full", equal.
  const delay = backoff === "fixed" ? base : Math.min(base * 2 ** (retry - 1), Math.max(base, MAX_RETRY_DELAY_MS));
  return jitter === "none" ? delay : jitter === "full" ? random() * delay : delay / 2 + (random() * delay) / 2;
}
