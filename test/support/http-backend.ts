/**
 * A Backend that is a running server's HTTP API, so that the contention ledger can run
 * through the whole stack (the Worker, its backend, the store). Grants answer with their
 * serverTimeMs, which is the store time of the grant.
 */
import type { AcquireRequest, AcquireResult, Backend, ExtendResult, LookupResult, OwnsResult } from "@holdfast/shared";

export function httpBackend(baseUrl: string, tokenOf: (tenant: string) => string): Backend {
  async function post(path: string, tenant: string, body: object) {
    const response = await fetch(`${baseUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokenOf(tenant)}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, unknown>;
    return { status: response.status, json, serverTimeMs: Number(json.serverTimeMs) };
  }
  const lockId = (keyId: string, token: string) => `${keyId}.${token}`;

  async function acquire(request: AcquireRequest, waitMs: number): Promise<AcquireResult> {
    const answer = await post("/v1/locks/acquire", request.tenant, {
      key: request.key,
      ttlMs: request.ttlMs,
      mode: request.mode,
      ...(request.mode === "shared" ? { permits: request.permits } : {}),
      ...(request.limit === null ? {} : { limit: request.limit }),
      ...(waitMs > 0 ? { waitMs } : {}),
    });
    if (answer.status === 409) {
      return { ok: false, reason: "locked", serverTimeMs: answer.serverTimeMs, retryAtMs: answer.serverTimeMs };
    }
    if (answer.status !== 200) throw new Error(`acquire answered ${answer.status}: ${JSON.stringify(answer.json)}`);
    return {
      ok: true,
      token: String(answer.json.lockId).split(".")[1] as string,
      fence: Number(answer.json.fence),
      acquiredAtMs: answer.serverTimeMs,
      expiresAtMs: Number(answer.json.expiresAtMs),
      serverTimeMs: answer.serverTimeMs,
    };
  }

  return {
    name: `http ${baseUrl}`,
    acquire: (request) => acquire(request, 0),
    acquireQueued: (request, { waitMs }) => acquire(request, waitMs),
    async release(ref) {
      const answer = await post("/v1/locks/release", ref.tenant, { lockId: lockId(ref.keyId, ref.token) });
      // 404 is "not held" (a lost release, to the ledger); anything else is an error with its cause.
      if (answer.status !== 200 && answer.status !== 404) {
        throw new Error(`release answered ${answer.status}: ${JSON.stringify(answer.json)}`);
      }
      return { ok: answer.status === 200, serverTimeMs: answer.serverTimeMs };
    },
    async extend(ref, ttlMs): Promise<ExtendResult> {
      const answer = await post("/v1/locks/extend", ref.tenant, { lockId: lockId(ref.keyId, ref.token), ttlMs });
      if (answer.status !== 200) return { ok: false, serverTimeMs: answer.serverTimeMs };
      return { ok: true, expiresAtMs: Number(answer.json.expiresAtMs), serverTimeMs: answer.serverTimeMs };
    },
    async owns(ref): Promise<OwnsResult> {
      const answer = await post("/v1/locks/owns", ref.tenant, { lockId: lockId(ref.keyId, ref.token) });
      return answer.json as unknown as OwnsResult;
    },
    async lookup(ref): Promise<LookupResult> {
      const answer = await post("/v1/locks/lookup", ref.tenant, { key: ref.key });
      return answer.json as unknown as LookupResult;
    },
    async time() {
      return Number(((await (await fetch(`${baseUrl}/v1/time`)).json()) as { serverTimeMs: number }).serverTimeMs);
    },
  };
}
