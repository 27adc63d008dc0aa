/**
 * NTP-style estimate of how far the server's clock is ahead of the caller's, from the
 * `serverTimeMs` every answer carries. The server read its clock somewhere between our
 * send and our receive, so with round trip `rtt` the true offset lies within
 * `offset ± rtt/2` of the midpoint estimate. The lowest-RTT recent sample gives the
 * tightest bound, so that is the one used.
 */
import { monotonic, wall } from "./timing.ts";

export interface ClockEstimate {
  /** Server clock minus the caller's clock, in ms (positive: the server is ahead). */
  offsetMs: number;
  /** Round-trip time of the sample the estimate comes from. */
  rttMs: number;
  /** The largest offset consistent with the sample: |offsetMs| + rttMs / 2. */
  maxOffsetMs: number;
}

/** How many recent samples are kept; older ones may not reflect drift since. */
const WINDOW = 8;

export interface ClockTracker {
  /** Records one answer: sent at `sentAt` (monotonic), carrying `serverTimeMs`, received now. */
  sample(serverTimeMs: number, sentAt: number): void;
  estimate(): ClockEstimate | undefined;
  /** A server timestamp in the caller's wall clock (unchanged before the first sample). */
  toLocal(serverTimeMs: number): number;
}

export function createClockTracker(): ClockTracker {
  const samples: ClockEstimate[] = [];
  const estimate = () =>
    samples.reduce<ClockEstimate | undefined>((best, s) => (best && best.rttMs <= s.rttMs ? best : s), undefined);
  return {
    sample(serverTimeMs, sentAt) {
      const rttMs = Math.max(0, monotonic() - sentAt);
      const offsetMs = serverTimeMs - (wall() - rttMs / 2);
      samples.push({ offsetMs, rttMs, maxOffsetMs: Math.abs(offsetMs) + rttMs / 2 });
      if (samples.length > WINDOW) samples.shift();
    },
    estimate,
    toLocal: (serverTimeMs) => Math.round(serverTimeMs - (estimate()?.offsetMs ?? 0)),
  };
}
