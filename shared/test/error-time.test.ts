/**
 * SPEC §2: every response carries the server's time, error envelopes included, so that a
 * client can keep estimating its clock offset from answers that refused it.
 */
import { describe, expect, it } from "vitest";
import type { Backend } from "../src/backend.ts";
import { LockError } from "../src/errors.ts";
import { createApp, createMemoryBackend, memoryRateLimiter, staticTokens } from "../src/index.ts";

const auth = staticTokens([
  { token: "t", tenant: "x", scopes: ["lock", "read"] },
  { token: "r", tenant: "x", scopes: ["read"] },
]);
const post = (app: ReturnType<typeof createApp>, path: string, body: string, headers: Record<string, string> = {}) =>
  app.request(path, {
    method: "POST",
    headers: { authorization: "Bearer t", "content-type": "application/json", ...headers },
    body,
  });

function failing(error: () => unknown): Backend {
  const fail = async () => {
    throw error();
  };
  return { ...createMemoryBackend(), acquire: fail, release: fail, extend: fail, owns: fail, lookup: fail };
}

describe("error envelopes carry serverTimeMs", () => {
  const app = createApp({ backend: createMemoryBackend(), auth });
  const cases: Array<[string, () => Response | Promise<Response>, number]> = [
    ["bad JSON", () => post(app, "/v1/locks/release", "{"), 400],
    ["an unknown field", () => post(app, "/v1/locks/release", '{"lockId":"a","x":1}'), 400],
    ["no token", () => post(app, "/v1/locks/owns", "{}", { authorization: "" }), 401],
    [
      "a token without the scope",
      () => post(app, "/v1/locks/acquire", '{"key":"k"}', { authorization: "Bearer r" }),
      403,
    ],
    ["an unknown route", () => app.request("/v1/nothing"), 404],
    [
      "a body too large",
      () => post(app, "/v1/locks/acquire", JSON.stringify({ key: "k", pad: "x".repeat(20_000) })),
      413,
    ],
    [
      "a wrong content type",
      () => post(app, "/v1/locks/acquire", '{"key":"k"}', { "content-type": "text/plain" }),
      415,
    ],
  ];
  it.each(cases)("for %s", async (_, send, status) => {
    const before = Date.now();
    const response = await send();
    expect(response.status).toBe(status);
    const body = (await response.json()) as { ok: boolean; serverTimeMs?: number; error?: unknown };
    expect(body.ok).toBe(false);
    expect(body.error).toBeDefined();
    expect(body.serverTimeMs).toBeGreaterThanOrEqual(before);
    expect(body.serverTimeMs).toBeLessThanOrEqual(Date.now());
  });

  it("for 429, 503, 504 and 500", async () => {
    const limited = createApp({
      backend: createMemoryBackend(),
      auth,
      rateLimit: memoryRateLimiter({ perSecond: 1, burst: 1 }),
    });
    await post(limited, "/v1/locks/acquire", '{"key":"a"}');
    const apps: Array<[ReturnType<typeof createApp>, number]> = [
      [limited, 429],
      [createApp({ backend: failing(() => new LockError("ServiceUnavailable", "down")), auth }), 503],
      [
        createApp({
          backend: { ...createMemoryBackend(), acquire: () => new Promise(() => {}) },
          auth,
          storeTimeoutMs: 20,
        }),
        504,
      ],
      [createApp({ backend: failing(() => new TypeError("bug")), auth, logError: () => {} }), 500],
    ];
    for (const [target, status] of apps) {
      const response = await post(target, "/v1/locks/acquire", '{"key":"k"}');
      expect(response.status).toBe(status);
      expect(await response.json()).toMatchObject({ ok: false, serverTimeMs: expect.any(Number) });
    }
  });
});
