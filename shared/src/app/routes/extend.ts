import { createRoute } from "@hono/zod-openapi";
import { parseLockId } from "../../keys.ts";
import { ExtendBody } from "../../validation.ts";
import { requireScope } from "../auth.ts";
import { bearerSecurity, type HoldfastApp, jsonBody, jsonResponse, type RouteDeps } from "../context.ts";
import { ErrorEnvelope, Extended, NotHeld } from "../responses.ts";
import { callStore } from "../store-call.ts";

const route = createRoute({
  method: "post",
  path: "/v1/locks/extend",
  summary: "Set a live grant's expiry to now + ttlMs",
  security: bearerSecurity,
  request: { body: jsonBody(ExtendBody) },
  responses: {
    200: jsonResponse(Extended, "Extended"),
    404: jsonResponse(NotHeld, "Not held: unknown, released or expired (an expired grant cannot be revived)"),
    400: jsonResponse(ErrorEnvelope, "Invalid argument"),
  },
});

export function registerExtend(app: HoldfastApp, deps: RouteDeps): void {
  app.openapi(route, async (c) => {
    const principal = c.get("principal");
    requireScope(principal, "lock");
    const body = c.req.valid("json");
    const ref = parseLockId(principal.tenant, body.lockId);
    const result = await callStore(() => deps.backend.extend(ref, body.ttlMs), deps.storeTimeoutMs);
    return result.ok
      ? c.json({ ok: true as const, expiresAtMs: result.expiresAtMs, serverTimeMs: result.serverTimeMs }, 200)
      : c.json({ ok: false as const, serverTimeMs: result.serverTimeMs }, 404);
  });
}
