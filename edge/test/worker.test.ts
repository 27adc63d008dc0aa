/** The Worker entry itself (bindings, tokens, routes), through the runtime's own fetch. */
import { createExecutionContext, env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { mintToken } from "../../sdk/src/server.ts";
import worker from "../src/worker.ts";

const headers = { authorization: "Bearer token-a", "content-type": "application/json" };
const post = (path: string, body: object, init: RequestInit = {}) =>
  SELF.fetch(`https://holdfast.test${path}`, { method: "POST", headers, body: JSON.stringify(body), ...init });

describe("the Worker", () => {
  it("answers every request of a misconfigured deployment with a clear 503 in the envelope", async () => {
    const wrong = { ...env, HOLDFAST_BACKEND: "dynamodb" } as typeof env;
    const response = await worker.fetch(new Request("https://holdfast.test/health"), wrong, createExecutionContext());
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      ok: false,
      error: { code: "ServiceUnavailable", message: expect.stringMatching(/^misconfigured: .*HOLDFAST_BACKEND/) },
    });
  });

  it("serves the v1 API over the Durable Object backend", async () => {
    const health = await SELF.fetch("https://holdfast.test/health");
    expect(await health.json()).toMatchObject({ ok: true, backend: "durable-object" });
    const key = `worker:${crypto.randomUUID()}`;
    const grant = await post("/v1/locks/acquire", { key, ttlMs: 10_000 });
    expect(grant.status).toBe(200);
    const { lockId, fence } = (await grant.json()) as { lockId: string; fence: string };
    expect(fence).toBe("000000000000001");
    expect((await post("/v1/locks/acquire", { key })).status).toBe(409);
    expect((await post("/v1/locks/release", { lockId })).status).toBe(200);
    expect((await post("/v1/locks/release", { lockId })).status).toBe(404);
  });

  it("takes its tokens from the bindings", async () => {
    const response = await post(
      "/v1/locks/acquire",
      { key: "k" },
      { headers: { ...headers, authorization: "Bearer nope" } },
    );
    expect(response.status).toBe(401);
  });

  it("takes browser tokens (JWTs) signed with a secret of HOLDFAST_JWT_SECRETS, within their key prefixes", async () => {
    const token = await mintToken({
      secret: "worker-test-secret-of-32-bytes-or-more",
      kid: "test",
      tenant: "tenant-a",
      sub: "user-1",
      keys: ["user:1:"],
    });
    const browser = { ...headers, authorization: `Bearer ${token}` };
    const key = `user:1:${crypto.randomUUID()}`;
    const grant = await post("/v1/locks/acquire", { key }, { headers: browser });
    expect(grant.status).toBe(200);
    expect((await post("/v1/locks/acquire", { key: "user:2:x" }, { headers: browser })).status).toBe(403);
    const { lockId } = (await grant.json()) as { lockId: string };
    expect((await post("/v1/locks/release", { lockId }, { headers: browser })).status).toBe(200);
  });

  it("hands the key to a waiting request the moment it is released", async () => {
    const key = `worker-wait:${crypto.randomUUID()}`;
    const holder = (await (await post("/v1/locks/acquire", { key })).json()) as { lockId: string };
    const waiter = post("/v1/locks/acquire", { key, waitMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await post("/v1/locks/release", { lockId: holder.lockId });
    const served = await waiter;
    expect(served.status).toBe(200);
    expect(await served.json()).toMatchObject({ fence: "000000000000002" });
  });
});
