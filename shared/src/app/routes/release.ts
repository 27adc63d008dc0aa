import { parseLockId } from "../../keys.ts";
import { callStore } from "../../store-call.ts";
import { LockIdBody } from "../../validation.ts";
import { requireScope } from "../auth/auth.ts";
import type { HoldfastApp, RouteDeps } from "../context.ts";
import { jsonInput, requireJsonMediaType } from "../input/json-input.ts";

export function registerRelease(app: HoldfastApp, deps: RouteDeps): void {
  // Documented in ../meta/openapi-spec.ts.
  app.post("/v1/locks/release", requireJsonMediaType, jsonInput(LockIdBody), async (c) => {
    const principal = c.get("principal");
    requireScope(principal, "lock");
    const ref = parseLockId(principal.tenant, c.req.valid("json").lockId);
    const result = await callStore(() => deps.backend.release(ref), deps.storeTimeoutMs);
    return result.ok
      ? c.json({ ok: true as const, serverTimeMs: result.serverTimeMs }, 200)
      : c.json({ ok: false as const, serverTimeMs: result.serverTimeMs }, 404);
  });
}
