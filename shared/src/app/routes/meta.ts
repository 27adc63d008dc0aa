import { swaggerUI } from "@hono/swagger-ui";
import type { HoldfastApp, RouteDeps } from "../context.ts";
// Generated at build time from the zod schemas (scripts/gen-openapi.ts), so that neither
// classic zod nor the OpenAPI generator runs, or ships, in the server.
import openApiDocument from "../meta/openapi.json" with { type: "json" };
import { callStore } from "../store-call.ts";

/** Unauthenticated routes: time, health, the OpenAPI document and the docs page. */
export function registerMeta(app: HoldfastApp, deps: RouteDeps): void {
  app.get("/v1/time", async (c) => {
    const serverTimeMs = await callStore(() => deps.backend.time(), deps.storeTimeoutMs);
    return c.json({ serverTimeMs }, 200);
  });
  app.get("/health", async (c) => {
    const serverTimeMs = await callStore(() => deps.backend.time(), deps.storeTimeoutMs);
    return c.json({ ok: true, backend: deps.backend.name, serverTimeMs, ...deps.backend.health?.() });
  });
  app.get("/openapi.json", (c) => c.json(openApiDocument));
  app.get("/docs", swaggerUI({ url: "/openapi.json", title: "Holdfast API" }));
}
