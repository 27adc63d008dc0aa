/** The Cloudflare Worker: the shared Hono app over the backend chosen by HOLDFAST_BACKEND. */
import { type Backend, createApp, LockError, staticTokens, tokensFromEnv } from "@holdfast/shared";
import { createDurableObjectBackend } from "./durable-object/backend.ts";
import type { Env } from "./env.ts";

export { LockObject } from "./durable-object/lock-object.ts";

function backendFor(env: Env): Backend {
  const choice = env.HOLDFAST_BACKEND ?? "durable-object";
  if (choice === "durable-object") return createDurableObjectBackend(env.LOCKS);
  throw new LockError("ServiceUnavailable", `HOLDFAST_BACKEND=${choice} is not available in this build`);
}

function buildApp(env: Env) {
  return createApp({
    backend: backendFor(env),
    auth: staticTokens(tokensFromEnv(env)),
    corsOrigins: (env.HOLDFAST_CORS_ORIGINS ?? "").split(",").filter(Boolean),
    ...(env.HOLDFAST_WAIT_CAP_MS ? { waitCapMs: Number(env.HOLDFAST_WAIT_CAP_MS) } : {}),
  });
}

// Built once per isolate: bindings do not change while it lives.
let built: { env: Env; app: ReturnType<typeof createApp> } | undefined;

export default {
  fetch(request, env, ctx) {
    if (built?.env !== env) built = { env, app: buildApp(env) };
    return built.app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
