import { createRoute } from "@hono/zod-openapi";
import { formatFence } from "../../fence.ts";
import { parseLockId } from "../../keys.ts";
import { LockIdBody } from "../../validation.ts";
import { requireScope } from "../auth.ts";
import { bearerSecurity, type HoldfastApp, jsonBody, jsonResponse, type RouteDeps } from "../context.ts";
import { ErrorEnvelope, Owns } from "../responses.ts";
import { callStore } from "../store-call.ts";

const route = createRoute({
  method: "post",
  path: "/v1/locks/owns",
  summary: "Whether a lockId still names a live grant",
  security: bearerSecurity,
  request: { body: jsonBody(LockIdBody) },
  responses: {
    200: jsonResponse(Owns, "owned is true while the grant is live"),
    400: jsonResponse(ErrorEnvelope, "Invalid argument"),
  },
});

export function registerOwns(app: HoldfastApp, deps: RouteDeps): void {
  app.openapi(route, async (c) => {
    const principal = c.get("principal");
    requireScope(principal, "lock", "read");
    const ref = parseLockId(principal.tenant, c.req.valid("json").lockId);
    const result = await callStore(() => deps.backend.owns(ref), deps.storeTimeoutMs);
    if (!result.owned) return c.json({ ok: true as const, owned: false, serverTimeMs: result.serverTimeMs }, 200);
    const { holder } = result;
    return c.json(
      {
        ok: true as const,
        owned: true,
        key: result.key,
        mode: holder.mode,
        permits: holder.permits,
        fence: formatFence(holder.fence),
        expiresAtMs: holder.expiresAtMs,
        serverTimeMs: result.serverTimeMs,
      },
      200,
    );
  });
}
