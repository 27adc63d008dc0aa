import { formatFence } from "../../fence.ts";
import { parseLockId } from "../../keys.ts";
import { callStore } from "../../store-call.ts";
import { LockIdBody } from "../../validation.ts";
import { requireScope } from "../auth/auth.ts";
import type { HoldfastApp, RouteDeps } from "../context.ts";
import { jsonInput, requireJsonMediaType } from "../input/json-input.ts";

export function registerOwns(app: HoldfastApp, deps: RouteDeps): void {
  // Documented in ../meta/openapi-spec.ts.
  app.post("/v1/locks/owns", requireJsonMediaType, jsonInput(LockIdBody), async (c) => {
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
