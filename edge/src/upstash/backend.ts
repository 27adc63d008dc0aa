/**
 * The Upstash Redis backend: each operation is one Lua script in one REST round trip,
 * decided by Redis's clock (rules.lua.ts restates the core's rules), and waiting is a
 * fair queue in Redis with pushed handoffs (wait.ts).
 */
import { type Backend, finalResult } from "@holdfast/shared";
import { runAcquire } from "./acquire.ts";
import { createContext, type UpstashBackendOptions } from "./context.ts";
import { toLockError } from "./errors.ts";
import { runExtend } from "./extend.ts";
import { runLookup } from "./lookup.ts";
import { runOwns } from "./owns.ts";
import { runRelease } from "./release.ts";
import { acquireQueued } from "./wait.ts";

export { UPSTASH_BOUNDS, type UpstashBackendOptions } from "./context.ts";

export function createUpstashBackend(options: UpstashBackendOptions): Backend {
  const ctx = createContext(options);
  return {
    name: "upstash",
    acquire: async (request) => finalResult(await runAcquire(ctx, request, 0)),
    acquireQueued: (request, wait) => acquireQueued(ctx, request, wait),
    release: (ref) => runRelease(ctx, ref),
    extend: (ref, ttlMs) => runExtend(ctx, ref, ttlMs),
    owns: (ref) => runOwns(ctx, ref),
    lookup: (ref) => runLookup(ctx, ref),
    async time() {
      try {
        const [seconds, micros] = (await ctx.redis.time()) as [number, number];
        return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      } catch (error) {
        throw toLockError(error);
      }
    },
  };
}
