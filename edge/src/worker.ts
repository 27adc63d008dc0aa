/** The Cloudflare Worker: the shared Hono app over the backend chosen by HOLDFAST_BACKEND. */
import {
  authFromEnv,
  type Backend,
  boundsFrom,
  checkConfig,
  createApp,
  misconfiguredResponse,
  parseCorsOrigins,
  parsePositiveInt,
} from "@holdfast/shared";
import { createDurableObjectBackend } from "./durable-object/backend.ts";
import { DURABLE_OBJECT_BOUNDS } from "./durable-object/lock-object.ts";
import type { Env } from "./env.ts";
import { createNeonBackend, NEON_BOUNDS } from "./neon/backend.ts";
import { waitRoomListen } from "./neon/wait-room-listen.ts";
import { sharedRateLimiter } from "./rate-limit/limiter.ts";
import { createUpstashBackend, UPSTASH_BOUNDS } from "./upstash/backend.ts";

export { LockObject } from "./durable-object/lock-object.ts";
export { NeonWaitRoom } from "./neon/wait-room.ts";
export { RateLimitObject } from "./rate-limit/rate-limit-object.ts";

function backendFor(env: Env): Backend {
  const choice = env.HOLDFAST_BACKEND ?? "durable-object";
  if (choice === "durable-object") return createDurableObjectBackend(env.LOCKS, boundsFrom(env, DURABLE_OBJECT_BOUNDS));
  if (choice === "upstash") {
    const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = env;
    if (!url || !token)
      throw new Error("HOLDFAST_BACKEND=upstash needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN");
    return createUpstashBackend({
      url,
      token,
      ...(env.HOLDFAST_REDIS_PREFIX ? { prefix: env.HOLDFAST_REDIS_PREFIX } : {}),
      bounds: boundsFrom(env, UPSTASH_BOUNDS),
    });
  }
  if (choice === "neon") {
    const { DATABASE_URL: connectionString, NEON_WAIT_ROOM: rooms } = env;
    if (!connectionString) throw new Error("HOLDFAST_BACKEND=neon needs DATABASE_URL");
    const localProxy = env.HOLDFAST_NEON_LOCAL_PROXY === "true";
    return createNeonBackend({
      connectionString,
      ...(env.HOLDFAST_PG_PREFIX ? { prefix: env.HOLDFAST_PG_PREFIX } : {}),
      localProxy,
      // An isolate's connection serves only the request that opened it: waiters share the
      // waiting rooms' connections, or (a deployment without the binding) open one each.
      waiting: rooms ? waitRoomListen(rooms, { connectionString, localProxy }) : "per-waiter",
      bounds: boundsFrom(env, NEON_BOUNDS),
    });
  }
  throw new Error(`HOLDFAST_BACKEND=${choice}: use durable-object, upstash or neon`);
}

function buildApp(env: Env) {
  checkConfig(env);
  const waitCapMs = parsePositiveInt("HOLDFAST_WAIT_CAP_MS", env.HOLDFAST_WAIT_CAP_MS);
  return createApp({
    backend: backendFor(env),
    auth: authFromEnv(env),
    rateLimit: sharedRateLimiter(env),
    // Set by Cloudflare's edge; a client's own copy of the header is overwritten.
    clientAddress: (c) => c.req.header("cf-connecting-ip"),
    corsOrigins: parseCorsOrigins(env.HOLDFAST_CORS_ORIGINS),
    ...(waitCapMs === undefined ? {} : { waitCapMs }),
  });
}

// Built once per isolate: bindings do not change while it lives.
let built: { env: Env; app: ReturnType<typeof createApp> | Error } | undefined;

export default {
  fetch(request, env, ctx) {
    if (built?.env !== env) {
      let app: ReturnType<typeof createApp> | Error;
      try {
        app = buildApp(env);
      } catch (error) {
        app = error instanceof Error ? error : new Error(String(error));
      }
      built = { env, app };
    }
    return built.app instanceof Error ? misconfiguredResponse(built.app) : built.app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
