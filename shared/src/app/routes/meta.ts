import { swaggerUI } from "@hono/swagger-ui";
import { createRoute } from "@hono/zod-openapi";
import type { HoldfastApp, RouteDeps } from "../context.ts";
import { jsonResponse } from "../context.ts";
import { Time } from "../responses.ts";
import { callStore } from "../store-call.ts";

const timeRoute = createRoute({
  method: "get",
  path: "/v1/time",
  summary: "The store's clock, for clients that estimate their offset",
  responses: { 200: jsonResponse(Time, "Server time") },
});

/** Unauthenticated routes: time, health, the OpenAPI document and the docs page. */
export function registerMeta(app: HoldfastApp, deps: RouteDeps): void {
  app.openapi(timeRoute, async (c) => {
    const serverTimeMs = await callStore(() => deps.backend.time(), deps.storeTimeoutMs);
    return c.json({ serverTimeMs }, 200);
  });
  app.get("/health", async (c) => {
    const serverTimeMs = await callStore(() => deps.backend.time(), deps.storeTimeoutMs);
    return c.json({ ok: true, backend: deps.backend.name, serverTimeMs });
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer" });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Holdfast",
      version: "1.0.0",
      description: "Distributed locks, semaphores and read-write locks with fencing tokens, over HTTP.",
    },
  });
  app.get("/docs", swaggerUI({ url: "/openapi.json", title: "Holdfast API" }));
}
