import { formatFence } from "../../fence.ts";
import { formatLockId, keyIdOf } from "../../keys.ts";
import { callStore } from "../../store-call.ts";
import { LookupBody } from "../../validation.ts";
import { requireKeyAllowed, requireScope } from "../auth/auth.ts";
import type { HoldfastApp, RouteDeps } from "../context.ts";
import { jsonInput, requireJsonMediaType } from "../input/json-input.ts";

/** A lookup lists at most this many holders (the oldest first); `holderCount` counts them all. */
export const LOOKUP_HOLDERS = 100;

export function registerLookup(app: HoldfastApp, deps: RouteDeps): void {
  // Documented in ../meta/openapi-spec.ts.
  app.post("/v1/locks/lookup", requireJsonMediaType, jsonInput(LookupBody), async (c) => {
    const principal = c.get("principal");
    requireScope(principal, "lock", "read");
    const key = c.req.valid("json").key.normalize("NFC");
    requireKeyAllowed(principal, key);
    const keyId = await keyIdOf(principal.tenant, key);
    const result = await callStore(
      () => deps.backend.lookup({ tenant: principal.tenant, key, keyId }),
      deps.storeTimeoutMs,
    );
    // lockIds are capabilities: only admins may see them.
    const admin = principal.scopes.includes("admin");
    if (admin) c.set("usedAdmin", true);
    const live = result.holders;
    // A key may have thousands of holders (rule 9's bound): the answer stays small.
    const listed =
      live.length > LOOKUP_HOLDERS ? [...live].sort((a, b) => a.fence - b.fence).slice(0, LOOKUP_HOLDERS) : live;
    const holders = listed.map((h) => ({
      mode: h.mode,
      permits: h.permits,
      fence: formatFence(h.fence),
      acquiredAtMs: h.acquiredAtMs,
      expiresAtMs: h.expiresAtMs,
      ...(admin ? { lockId: formatLockId(keyId, h.token) } : {}),
    }));
    const locked = live.length > 0;
    return c.json(
      {
        ok: true as const,
        locked,
        holders,
        holderCount: live.length,
        fence: result.fence > 0 ? formatFence(result.fence) : null,
        expiresAtMs: locked ? Math.max(...live.map((h) => h.expiresAtMs)) : null,
        limit: result.limit,
        serverTimeMs: result.serverTimeMs,
      },
      200,
    );
  });
}
