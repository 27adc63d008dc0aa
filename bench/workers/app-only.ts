/**
 * A benchmark variant of the Worker (bench/worker-profile.bench.ts), never deployed: the
 * Holdfast app alone, over a memory backend inside the isolate, with no Durable Object:
 * routing, auth, validation, key ids and envelopes, as the real Worker runs them.
 */
import { createApp, createMemoryBackend, staticTokens, tokensFromEnv } from "@holdfast/shared";

let app: ReturnType<typeof createApp> | undefined;

export default {
  fetch(request: Request, env: { HOLDFAST_TOKEN: string }): Response | Promise<Response> {
    app ??= createApp({ backend: createMemoryBackend(), auth: staticTokens(tokensFromEnv(env)) });
    return app.fetch(request);
  },
};
