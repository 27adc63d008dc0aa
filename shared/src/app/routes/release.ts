import { createRoute } from "@hono/zod-openapi";
import { parseLockId } from "../../keys.ts";
import { LockIdBody } from "../../validation.ts";
import { requireScope } from "../auth.ts";
import { bearerSecurity, type HoldfastApp, jsonBody, jsonResponse, type RouteDeps } from "../context.ts";
import { ErrorEnvelope, NotHeld, Released } from "../responses.ts";
import { callStore } from "../store-call.ts";

const route = createRoute({
  method: "post",
  path: "/v1/locks/release",
  summary: "Release a grant by its lockId",
  security: bearerSecurity,
  request: { body: jsonBody(LockIdBody) },
  responses: {
    200: jsonResponse(Released, "Released"),
    404: jsonResponse(NotHeld, "Not held: unknown, already released or expired"),
    400: jsonResponse(ErrorEnvelope, "Invalid argument"),
  },
});

export function registerRelease(app: HoldfastApp, deps: RouteDeps): void {
  app.openapi(route, async (c) => {
    const principal = c.get("principal");
    requireScope(principal, "lock");
    const ref = parseLockId(principal.tenant, c.req.valid("json").lockId);
    const result = await callStore(() => deps.backend.release(ref), deps.storeTimeoutMs);
    return result.ok
      ? c.json({ ok: true as const, serverTimeMs: result.serverTimeMs }, 200)
      : c.json({ ok: false as const, serverTimeMs: result.serverTimeMs }, 404);
  });
}
