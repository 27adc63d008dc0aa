/**
 * What the size bench asks of a store, the same whether it is reached straight from Node
 * (a Backend) or over HTTP (a server): every answer reduced to an Outcome, so that the
 * checks and the table are written once.
 */
import { type AcquireResult, type Backend, httpStatusOf, isLockError, keyIdOf, newToken } from "@holdfast/shared";

export type Outcome =
  | { kind: "granted"; token: string; fence: number; serverTimeMs: number }
  | { kind: "refused"; bound: string }
  | { kind: "locked" }
  | { kind: "error"; code: string; status: number };

export interface Waiting {
  /** Settles once the store has the request in its queue, or has answered it. */
  queued: Promise<void>;
  answer: Promise<Outcome>;
}

export interface SizeTarget {
  acquire(key: string, mode: "shared" | "exclusive"): Promise<Outcome>;
  /** The live holders' count, and the fences listed (every one on a backend, the oldest 100 over HTTP). */
  lookup(key: string): Promise<{ count: number; fences: number[] }>;
  /** An exclusive request that waits in the store's queue (up to WAIT_MS). */
  enqueue(key: string): Waiting;
  release(key: string, token: string): Promise<{ ok: boolean; serverTimeMs: number }>;
}

export const TTL_MS = 600_000;
export const WAIT_MS = 600_000;

export function outcomeOf(result: AcquireResult): Outcome {
  if (result.ok)
    return { kind: "granted", token: result.token, fence: result.fence, serverTimeMs: result.serverTimeMs };
  if (result.reason === "capacity") return { kind: "refused", bound: result.bound };
  if (result.reason === "locked") return { kind: "locked" };
  return { kind: "error", code: result.reason, status: 400 };
}

export function errorOutcome(error: unknown): Outcome {
  if (!isLockError(error)) return { kind: "error", code: String(error), status: 0 };
  if (error.code === "CapacityExceeded") return { kind: "refused", bound: error.limit ?? "?" };
  return { kind: "error", code: error.code, status: httpStatusOf(error) };
}

/** A store reached straight from Node, with `onQueued` as the queue's own signal. */
export function backendTarget(backend: Backend, tenant = "size"): SizeTarget {
  const ids = new Map<string, string>();
  const keyId = async (key: string) => {
    const id = ids.get(key) ?? (await keyIdOf(tenant, key));
    ids.set(key, id);
    return id;
  };
  const request = async (key: string, mode: "shared" | "exclusive") => ({
    tenant,
    key,
    keyId: await keyId(key),
    token: newToken(),
    ttlMs: TTL_MS,
    mode,
    permits: 1,
    limit: null,
  });
  const queued = backend.acquireQueued?.bind(backend);
  if (!queued) throw new Error(`${backend.name} has no server-side waiting`);
  return {
    acquire: async (key, mode) => backend.acquire(await request(key, mode)).then(outcomeOf, errorOutcome),
    lookup: async (key) => {
      const view = await backend.lookup({ tenant, key, keyId: await keyId(key) });
      return { count: view.holders.length, fences: view.holders.map((h) => h.fence) };
    },
    enqueue(key) {
      let settle = () => {};
      const isQueued = new Promise<void>((resolve) => {
        settle = resolve;
      });
      const answer = request(key, "exclusive")
        .then((r) => queued(r, { waitMs: WAIT_MS, signal: new AbortController().signal, onQueued: settle }))
        .then(outcomeOf, errorOutcome)
        .finally(settle);
      return { queued: isQueued, answer };
    },
    release: async (key, token) => backend.release({ tenant, keyId: await keyId(key), token }),
  };
}
