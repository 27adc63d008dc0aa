/**
 * The Neon Postgres backend: each operation is one SQL statement in one HTTP round trip
 * (`SELECT <p>op(…)`, functions installed by the migrations), decided under the key's
 * row lock by Postgres's clock; waiting is a fair queue in the row with handoffs pushed
 * by LISTEN/NOTIFY (wait.ts).
 */
import { type Backend, finalResult } from "@holdfast/shared";
import { runAcquire } from "./acquire.ts";
import { createContext, type NeonBackendOptions } from "./context.ts";
import { runExtend } from "./extend.ts";
import { runLookup } from "./lookup.ts";
import { runOwns } from "./owns.ts";
import { runRelease } from "./release.ts";
import { num } from "./reply.ts";
import { acquireQueued } from "./wait.ts";

export { NEON_BOUNDS, type NeonBackendOptions } from "./context.ts";

export function createNeonBackend(options: NeonBackendOptions): Backend {
  const ctx = createContext(options);
  return {
    name: "neon",
    acquire: async (request) => finalResult(await runAcquire(ctx, request, 0)),
    acquireQueued: (request, wait) => acquireQueued(ctx, request, wait),
    release: (ref) => runRelease(ctx, ref),
    extend: (ref, ttlMs) => runExtend(ctx, ref, ttlMs),
    owns: (ref) => runOwns(ctx, ref),
    lookup: (ref) => runLookup(ctx, ref),
    async time() {
      const reply = await ctx.call(`SELECT jsonb_build_object('n', ${ctx.names.fn("now_ms")}()) AS r`, []);
      return num(reply, "n");
    },
  };
}
