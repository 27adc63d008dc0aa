/**
 * A browser's client with `getToken` handing out browser tokens (JWTs from `mintToken`):
 * the client keeps a token until 30 s before its `exp` instead of asking for one on every
 * request, shares one call among concurrent requests, and asks again once when the
 * service refuses a kept token (401).
 */
import { authFromEnv } from "@holdfast/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../src/index.ts";
import { mintToken } from "../src/server.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const SECRET = "sdk-browser-token-test-secret-0123456789";
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ auth: authFromEnv({ HOLDFAST_JWT_SECRETS: JSON.stringify({ b1: SECRET }) }) });
});
afterAll(() => server.close());

function countingGetToken(ttlSeconds: number, kid = "b1") {
  const calls = { count: 0 };
  const getToken = async () => {
    calls.count++;
    return mintToken({ secret: SECRET, kid, tenant: "web", sub: "user-7", keys: ["user:7:"], ttlSeconds });
  };
  return { calls, getToken };
}

describe("getToken with browser tokens", () => {
  it("keeps a token until shortly before it expires, and shares one call among concurrent requests", async () => {
    const { calls, getToken } = countingGetToken(900);
    const client = createClient({ url: server.url, getToken });
    await Promise.all(Array.from({ length: 5 }, (_, i) => client.getByKey({ key: `user:7:${i}` })));
    const lease = await client.acquire({ key: "user:7:cart" });
    expect(lease.ok).toBe(true);
    if (lease.ok) await lease.release();
    expect(calls.count).toBe(1);
  });

  it("fetches a new token for every request once the kept one is within 30 s of its exp", async () => {
    const { calls, getToken } = countingGetToken(20);
    const client = createClient({ url: server.url, getToken });
    await client.getByKey({ key: "user:7:a" });
    await client.getByKey({ key: "user:7:b" });
    expect(calls.count).toBe(2);
  });

  it("asks once more when the service refuses a kept token", async () => {
    let calls = 0;
    const getToken = async () => {
      calls++;
      // The first token is signed with a kid the service does not know (a rotated-out secret).
      return mintToken({
        secret: SECRET,
        kid: calls === 1 ? "retired" : "b1",
        tenant: "web",
        sub: "user-7",
        keys: ["user:7:"],
      });
    };
    const client = createClient({ url: server.url, getToken });
    expect(await client.getByKey({ key: "user:7:c" })).toMatchObject({ locked: false });
    expect(calls).toBe(2);
    // A token that stays refused is an AuthFailed error, after one retry.
    const refused = createClient({
      url: server.url,
      getToken: () => mintToken({ secret: SECRET, kid: "retired", tenant: "web", sub: "u", keys: ["user:"] }),
    });
    await expect(refused.getByKey({ key: "user:7:d" })).rejects.toMatchObject({ code: "AuthFailed", status: 401 });
  });
});

it("gives up on a getToken that never answers after timeoutMs, and asks again next time", async () => {
  let calls = 0;
  const client = createClient({
    url: server.url,
    timeoutMs: 200,
    getToken: () => {
      calls++;
      if (calls === 1) return new Promise<string>(() => {}); // hangs
      return mintToken({ secret: SECRET, kid: "b1", tenant: "web", sub: "user-7", keys: ["user:7:"] });
    },
  });
  await expect(client.getByKey({ key: "user:7:e" })).rejects.toMatchObject({
    code: "AuthFailed",
    message: expect.stringMatching(/no token within 200 ms/),
  });
  expect(await client.getByKey({ key: "user:7:e" })).toMatchObject({ locked: false });
  expect(calls).toBe(2);
});
