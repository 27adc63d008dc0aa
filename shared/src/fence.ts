/** Fences travel as 15-digit zero-padded decimals so that string order is numeric order. */
export const FENCE_DIGITS = 15;
export const MAX_FENCE = 10 ** FENCE_DIGITS - 1;

export function formatFence(fence: number): string {
  if (!Number.isSafeInteger(fence) || fence < 0 || fence > MAX_FENCE) {
    throw new RangeError(`fence out of range: ${fence}`);
  }
  return String(fence).padStart(FENCE_DIGITS, "0");
}
