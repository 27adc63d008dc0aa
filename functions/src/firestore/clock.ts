/**
 * The skew guard. Every decision is taken in Firestore's time (a read's `readTime`), so an
 * instance's own clock never decides an expiry; but an instance whose clock is far from
 * the store's is a broken host, and its local timers (the wait deadline, the waiter's
 * wake-ups) and the times it logs would mislead. Each read measures the instance clock
 * against the store's (the midpoint of the round trip against `readTime`, give or take
 * half the round trip); beyond the tolerance the instance refuses to grant.
 */
import { LockError } from "@holdfast/shared";

export const DEFAULT_CLOCK_TOLERANCE_MS = 1000;

export interface SkewReport {
  /** Instance clock minus Firestore's time, in ms (positive: the instance is ahead). */
  skewMs: number;
  /** Half the round trip of the read that measured it. */
  uncertaintyMs: number;
  toleranceMs: number;
  withinTolerance: boolean;
}

export class SkewGuard {
  private last: { skewMs: number; uncertaintyMs: number } | undefined;

  constructor(readonly toleranceMs: number) {}

  /** One read: sent and answered at these instance times, read at `storeMs`. */
  observe(sentMs: number, answeredMs: number, storeMs: number): void {
    this.last = { skewMs: (sentMs + answeredMs) / 2 - storeMs, uncertaintyMs: Math.max(0, answeredMs - sentMs) / 2 };
  }

  report(): SkewReport | undefined {
    if (!this.last) return undefined;
    return { ...this.last, toleranceMs: this.toleranceMs, withinTolerance: this.within() };
  }

  /** Throws ServiceUnavailable when the last measurement puts the clock beyond the tolerance. */
  assertCanGrant(): void {
    if (this.within() || !this.last) return;
    const skew = Math.round(this.last.skewMs);
    const direction = skew > 0 ? "ahead of" : "behind";
    throw new LockError(
      "ServiceUnavailable",
      `this instance's clock is ${Math.abs(skew)} ms ${direction} Firestore's time (tolerance ${this.toleranceMs} ms): it refuses to grant until its clock is corrected`,
    );
  }

  private within(): boolean {
    if (!this.last) return true;
    return Math.abs(this.last.skewMs) - this.last.uncertaintyMs <= this.toleranceMs;
  }
}
