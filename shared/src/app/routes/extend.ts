import { parseLockId } from "../../keys.ts";
import { callStore } from "../../store-call.ts";
import { ExtendBody } from "../../validation.ts";
import { requireScope } from "../auth/auth.ts";
import type { HoldfastApp, RouteDeps } from "../context.ts";
import { jsonInput, requireJsonMediaType } from "../input/json-input.ts";

export function registerExtend(app: HoldfastApp, deps: RouteDeps): void {
  // Documented in ../meta/openapi-spec.ts.
  app.post("/v1/locks/extend", requireJsonMediaType, jsonInput(ExtendBody), async (c) => {
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
