import { callStore } from "../../store-call.ts";
import type { HoldfastApp, RouteDeps } from "../context.ts";
import { DOCS_CSP, DOCS_HTML, DOCS_INIT_JS } from "../meta/docs-page.ts";
// Generated at build time from the zod schemas (scripts/gen-openapi.ts), so that neither
// classic zod nor the OpenAPI generator runs, or ships, in the server.
import openApiDocument from "../meta/openapi.json" with { type: "json" };

/** Unauthenticated routes: an index, time, health, the OpenAPI document and the docs page. */
export function registerMeta(app: HoldfastApp, deps: RouteDeps): void {
  app.get("/", (c) =>
    c.json({
      name: "Holdfast",
      about: "Distributed locks, semaphores and read-write locks with fencing tokens, over HTTP",
      api: "/v1/locks/{acquire,release,extend,owns,lookup} (POST, Authorization: Bearer <token>)",
      docs: "/docs",
      openapi: "/openapi.json",
      health: "/health",
      time: "/v1/time",
    }),
  );
  app.get("/v1/time", async (c) => {
    const serverTimeMs = await callStore(() => deps.backend.time(), deps.storeTimeoutMs);
    return c.json({ serverTimeMs }, 200);
  });
  app.get("/health", async (c) => {
    const serverTimeMs = await callStore(() => deps.backend.time(), deps.storeTimeoutMs);
    return c.json({ ok: true, backend: deps.backend.name, serverTimeMs, ...deps.backend.health?.() });
  });
  app.get("/openapi.json", (c) => c.json(openApiDocument));
  app.get("/docs", (c) => c.html(DOCS_HTML, 200, { "content-security-policy": DOCS_CSP }));
  app.get("/docs/init.js", (c) =>
    c.body(DOCS_INIT_JS, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" }),
  );
}
