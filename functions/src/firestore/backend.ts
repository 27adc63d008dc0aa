/**
 * The Firestore backend: one document per (tenant, key), changed by one conditional batch
 * after one read (atomic.ts), decided by the core's rules at the read's store time; owns
 * and lookup are one read. Waiting is a fair queue of waiter documents under the key's
 * document (waiter-document.ts), each watched by its own caller with onSnapshot (wait.ts).
 */
import { type Backend, finalResult } from "@holdfast/shared";
import { runAcquire } from "./acquire.ts";
import { readAt } from "./atomic.ts";
import { createContext, type FirestoreBackendOptions } from "./context.ts";
import { runExtend } from "./extend.ts";
import { runLookup } from "./lookup.ts";
import { runOwns } from "./owns.ts";
import { runRelease } from "./release.ts";
import { acquireQueued } from "./wait.ts";

export { FIRESTORE_BOUNDS, type FirestoreBackendOptions } from "./context.ts";

export function createFirestoreBackend(options: FirestoreBackendOptions): Backend {
  const ctx = createContext(options);
  // Never a lock document: their ids start with "k".
  const clockDoc = ctx.locks.doc("clock");
  return {
    name: "firestore",
    acquire: async (request) => finalResult(await runAcquire(ctx, request, 0)),
    acquireQueued: (request, wait) => acquireQueued(ctx, request, wait),
    release: (ref) => runRelease(ctx, ref),
    extend: (ref, ttlMs) => runExtend(ctx, ref, ttlMs),
    owns: (ref) => runOwns(ctx, ref),
    lookup: (ref) => runLookup(ctx, ref),
    time: async () => (await readAt(ctx, clockDoc)).nowMs,
    health: () => ({ clock: { authority: "firestore", ...ctx.skew.report() } }),
    // Ends the client this backend was given, after the steps under way (at most 10 s).
    close: () => ctx.close(10_000),
  };
}
