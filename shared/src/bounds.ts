/**
 * Per-key bounds (docs/design.md, rule R9 "Bounds"): how many holders and how many queued
 * waiters one key may have. Each store's atomic step reads and writes a key's holders and
 * queue, so an unbounded key would grow that step past what the store allows (Redis's busy
 * time, Postgres's statement deadline, Firestore's 1 MiB document). Past a bound a request
 * is refused with CapacityExceeded, and nothing changes.
 */
import { LockError } from "./errors.ts";
import type { CapacityResult } from "./model.ts";

export interface KeyBounds {
  /** Live grants on one key (a semaphore's or read lock's holders). */
  holders: number;
  /** Queued requests on one key (retries that join a queued original do not count). */
  waiters: number;
}

export type BoundName = keyof KeyBounds;

/**
 * Retries of one queued request that may wait with it (each a caller with its own deadline):
 * a retry past this many is refused with the waiters bound, so that no waiter grows without
 * bound either. A client's earlier attempts leave when it goes away; 16 is ample.
 */
export const MAX_CALLERS_PER_WAITER = 16;

/** The most any deployment may configure: a key's state must stay one store step's work. */
export const MAX_KEY_BOUND = 100_000;

export interface BoundsEnv {
  /** Live holders per key (default: the store's own, see docs/design.md, rule 9). */
  HOLDFAST_MAX_HOLDERS?: string;
  /** Queued waiters per key (default: the store's own). */
  HOLDFAST_MAX_WAITERS?: string;
}

/** The store's defaults, overridden by whatever the deployment configured. */
export function boundsFrom(env: BoundsEnv, defaults: KeyBounds): KeyBounds {
  return {
    holders: boundOf("HOLDFAST_MAX_HOLDERS", env.HOLDFAST_MAX_HOLDERS) ?? defaults.holders,
    waiters: boundOf("HOLDFAST_MAX_WAITERS", env.HOLDFAST_MAX_WAITERS) ?? defaults.waiters,
  };
}

/** Checks bounds given in code (a backend's options), as strictly as the environment's. */
export function checkBounds(bounds: KeyBounds): KeyBounds {
  for (const [name, value] of Object.entries(bounds)) {
    if (!Number.isSafeInteger(value) || value < 1 || value > MAX_KEY_BOUND) {
      throw new LockError("InvalidArgument", `key bound ${name}: an integer 1..${MAX_KEY_BOUND}, not ${value}`);
    }
  }
  return bounds;
}

function boundOf(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < 1 || value > MAX_KEY_BOUND) {
    throw new Error(`${name} must be an integer 1..${MAX_KEY_BOUND}, not ${JSON.stringify(raw)}`);
  }
  return value;
}

const BOUND_NAMES: readonly string[] = ["holders", "waiters", "callers"] satisfies CapacityResult["bound"][];

/**
 * A refusal at a bound (rule 9), as every store answers it: `bound` as the store named it
 * (an unknown name is a defect), `retryAtMs` only when an expiry will make room (> 0).
 */
export function atCapacity(bound: string, max: number, serverTimeMs: number, retryAtMs = 0): CapacityResult {
  if (!BOUND_NAMES.includes(bound)) throw new LockError("Internal", `unknown bound ${bound}`);
  const name = bound as CapacityResult["bound"];
  return { ok: false, reason: "capacity", bound: name, max, serverTimeMs, ...(retryAtMs > 0 ? { retryAtMs } : {}) };
}
