/**
 * How big a run is, and the workloads a size makes. Leases are short so that expiries
 * happen (holders work up to 1.2 TTL, one grant in ten is left to run out); some acquires
 * wait in the queue, some are re-sent with their idempotency key after an abort.
 */

import type { WorkloadKind } from "../driver/shapes.ts";
import type { Workload } from "../driver/workload.ts";

export interface Size {
  clients: number;
  keys: number;
  /** Acquire attempts per client, per workload. */
  attempts: number;
  ttlMs: number;
}

export const SIZES = {
  /** Seconds a store: every workload, a few hundred grants. */
  quick: { clients: 6, keys: 2, attempts: 10, ttlMs: 300 },
  /** A minute or two a store: a few thousand grants. */
  medium: { clients: 32, keys: 12, attempts: 60, ttlMs: 500 },
  /**
   * One round of a `--grants` run: medium, eight times as wide (20,000 to 35,000 grants a
   * round), so that a million grants take rounds, not hours of one history.
   */
  large: { clients: 256, keys: 96, attempts: 60, ttlMs: 500 },
} satisfies Record<string, Size>;

export function workloadOf(kind: WorkloadKind, size: Size, seed: number, keyPrefix: string): Workload {
  return {
    kind,
    ...size,
    holdMs: size.ttlMs * 1.2,
    waitShare: 0.4,
    waitMs: size.ttlMs * 2,
    abandonShare: 0.1,
    limit: 3,
    retryShare: 0.2,
    probeShare: 0.3,
    abortMs: 3,
    seed,
    keyPrefix: `${keyPrefix}${kind}:`,
  };
}
