/**
 * Issue 11, item 11: auth failures and admin requests leave structured audit lines on
 * stdout (the default sink), and no line holds a token, a browser token, an
 * Authorization header or a lockId.
 */
import { authFromEnv, createApp, createMemoryBackend } from "@holdfast/shared";
import { afterEach, expect, it, vi } from "vitest";
import { mintToken } from "../sdk/src/server.ts";

const SECRET = "audit-test-secret-of-at-least-32-bytes";
const ADMIN = "admin-token-that-must-not-be-logged";
const USER = "user-token-that-must-not-be-logged";

afterEach(() => vi.restoreAllMocks());

it("records auth failures and admin requests without secrets or lockIds", async () => {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  });
  const app = createApp({
    backend: createMemoryBackend(),
    auth: authFromEnv({
      HOLDFAST_TOKENS: JSON.stringify([
        { token: ADMIN, tenant: "ops", scopes: ["admin"] },
        { token: USER, tenant: "ops", scopes: ["read"] },
      ]),
      HOLDFAST_JWT_SECRETS: JSON.stringify({ k: SECRET }),
    }),
    // As the Worker does: an address only the platform sets.
    clientAddress: (c) => c.req.header("cf-connecting-ip"),
  });
  const post = (token: string, path: string, body: object, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  const browser = await mintToken({ secret: SECRET, kid: "k", tenant: "ops", sub: "u1", keys: ["user:1:"] });
  const expired = await mintToken({
    secret: SECRET,
    kid: "k",
    tenant: "ops",
    sub: "u1",
    keys: ["user:1:"],
    ttlSeconds: 1,
    now: () => Date.now() - 60_000,
  });

  const grant = (await (await post(ADMIN, "/v1/locks/acquire", { key: "job:1" })).json()) as { lockId: string };
  const lookup = await (await post(ADMIN, "/v1/locks/lookup", { key: "job:1" })).text();
  expect(lookup).toContain(grant.lockId); // the admin sees it; the log must not
  expect((await post(ADMIN, "/v1/locks/release", { lockId: grant.lockId })).status).toBe(200);
  expect(
    (await post("guessed-token", "/v1/locks/lookup", { key: "a" }, { "cf-connecting-ip": "203.0.113.7" })).status,
  ).toBe(401);
  expect((await post(USER, "/v1/locks/acquire", { key: "a" })).status).toBe(403);
  expect((await post(browser, "/v1/locks/acquire", { key: "user:2:x" })).status).toBe(403);
  expect((await post(expired, "/v1/locks/lookup", { key: "user:1:x" })).status).toBe(401);
  expect((await post(browser, "/v1/locks/acquire", { key: "user:1:x" })).status).toBe(200); // not audited

  const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  // What only the admin scope may do is audited (a lookup with raw lockIds), not every request of an admin token.
  expect(events.filter((e) => e.audit === "admin").map((e) => [e.path, e.status])).toEqual([["/v1/locks/lookup", 200]]);
  const failures = events.filter((e) => e.audit === "auth-failed");
  expect(failures.map((e) => [e.status, e.principal === undefined ? "anonymous" : e.tenant])).toEqual([
    [401, "anonymous"],
    [403, "ops"],
    [403, "ops"],
    [401, "anonymous"],
  ]);
  expect(failures[0]).toMatchObject({ reason: "unknown token", ip: "203.0.113.7", method: "POST" });
  expect(failures[2]).toMatchObject({ principal: "kid:k/sub:u1", reason: expect.stringMatching(/key prefixes/) });
  expect(failures[3]).toMatchObject({ reason: expect.stringMatching(/expired/) });
  for (const line of lines) {
    const capability = grant.lockId.split(".")[1] ?? grant.lockId;
    for (const secret of [ADMIN, USER, browser, expired, "guessed-token", grant.lockId, capability, SECRET, "Bearer"]) {
      expect(line).not.toContain(secret);
    }
  }
});

it("never takes the client's address from a header the client could have sent itself", async () => {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  });
  // As start:node and the function are built: no platform header to trust.
  const app = createApp({ backend: createMemoryBackend(), auth: authFromEnv({ HOLDFAST_TOKEN: ADMIN }) });
  await app.request("/v1/locks/lookup", {
    method: "POST",
    headers: {
      authorization: "Bearer forged",
      "content-type": "application/json",
      "cf-connecting-ip": "198.51.100.1",
      "x-forwarded-for": "198.51.100.2",
    },
    body: "{}",
  });
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0] ?? "{}")).not.toHaveProperty("ip");
});
