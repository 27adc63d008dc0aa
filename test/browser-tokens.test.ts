/**
 * Browser tokens (issue 11, item 1; SPEC §7): JWTs minted by the customer's backend with
 * the SDK's `mintToken` (holdfast/server) and verified by the service (Hono's JWT utilities): HS256 by kid
 * from HOLDFAST_JWT_SECRETS, ES256 from a JWKS served on this machine. A browser token
 * reaches only its tenant, its scopes (never admin) and, for acquire and lookup, the keys
 * under its prefixes.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { authFromEnv, checkConfig, createApp, createMemoryBackend, jwtTokens } from "@holdfast/shared";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken } from "../sdk/src/server.ts";

const SECRET = "a-secret-of-at-least-thirty-two-bytes!";
const NEXT_SECRET = "the-next-secret-after-rotation-0123456789";
const SHOP_ONLY = "a-secret-that-may-sign-only-for-shop-000";

function appWith(env: Record<string, string>) {
  return createApp({ backend: createMemoryBackend(), auth: authFromEnv(env) });
}

const app = appWith({
  HOLDFAST_TOKENS: JSON.stringify([{ token: "server-admin", tenant: "shop", scopes: ["admin"] }]),
  HOLDFAST_JWT_SECRETS: JSON.stringify({ k1: SECRET, k2: NEXT_SECRET, bound: { secret: SHOP_ONLY, tenant: "shop" } }),
});

const post = (token: string, path: string, body: object, target = app) =>
  target.request(path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const mint = (overrides: Partial<Parameters<typeof mintToken>[0]> = {}) =>
  mintToken({ secret: SECRET, kid: "k1", tenant: "shop", sub: "user-42", keys: ["user:42:"], ...overrides });

async function refusal(token: string, body: object = { key: "user:42:cart" }, path = "/v1/locks/acquire") {
  const response = await post(token, path, body);
  return {
    status: response.status,
    message: ((await response.json()) as { error?: { message?: string } }).error?.message,
  };
}

describe("HS256 browser tokens", () => {
  it("lock the keys under their prefixes, and release by lockId", async () => {
    const token = await mint();
    const grant = await (await post(token, "/v1/locks/acquire", { key: "user:42:cart" })).json();
    expect(grant).toMatchObject({ ok: true, fence: "000000000000001" });
    const lookup = await (await post(token, "/v1/locks/lookup", { key: "user:42:cart" })).json();
    expect(lookup).toMatchObject({ locked: true });
    // A browser token is never admin: no raw lockIds in lookups.
    expect(lookup.holders[0].lockId).toBeUndefined();
    expect(await (await post(token, "/v1/locks/owns", { lockId: grant.lockId })).json()).toMatchObject({
      owned: true,
    });
    expect((await post(token, "/v1/locks/release", { lockId: grant.lockId })).status).toBe(200);
  });

  it("refuse keys outside their prefixes with 403, for acquire and lookup", async () => {
    const token = await mint();
    expect(await refusal(token, { key: "user:43:cart" })).toMatchObject({ status: 403 });
    expect(await refusal(token, { key: "user:4" }, "/v1/locks/lookup")).toMatchObject({
      status: 403,
      message: expect.stringMatching(/outside its key prefixes/),
    });
  });

  it("hold only the scopes they claim", async () => {
    const reader = await mint({ scope: ["read"] });
    expect(await refusal(reader)).toMatchObject({ status: 403, message: expect.stringMatching(/lock scope/) });
    expect((await post(reader, "/v1/locks/lookup", { key: "user:42:x" })).status).toBe(200);
  });

  it("refuse expired, over-long, admin, foreign-audience, unsigned and tampered tokens with 401", async () => {
    const past = await mint({ now: () => Date.now() - 3_600_000, ttlSeconds: 60 });
    expect(await refusal(past)).toEqual({ status: 401, message: "browser token refused: it has expired" });

    const key = new TextEncoder().encode(SECRET);
    const sign = (
      claims: Record<string, unknown>,
      header: { alg: string; kid?: string } = { alg: "HS256", kid: "k1" },
    ) =>
      new SignJWT({ tenant: "shop", sub: "u", scope: "lock", keys: ["user:"], aud: "holdfast", ...claims })
        .setProtectedHeader(header as { alg: string })
        .setExpirationTime((claims.exp as number | undefined) ?? "10m")
        .sign(key);
    expect(await refusal(await sign({ exp: Math.floor(Date.now() / 1000) + 2 * 86_400 }))).toMatchObject({
      status: 401,
      message: expect.stringMatching(/more than 24 h ahead/),
    });
    expect(await refusal(await sign({ scope: "lock admin" }))).toMatchObject({ status: 401 });
    expect(await refusal(await sign({ aud: "someone-else" }))).toMatchObject({
      status: 401,
      message: expect.stringMatching(/aud/),
    });
    expect(await refusal(await sign({ keys: undefined }))).toMatchObject({ status: 401 });
    expect(await refusal(await sign({}, { alg: "HS256", kid: "unknown" }))).toMatchObject({
      status: 401,
      message: expect.stringMatching(/no HS256 secret has the kid "unknown"/),
    });
    const good = await mint();
    const [header, payload] = good.split(".");
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", kid: "k1" })).toString("base64url")}.${payload}.`;
    expect(await refusal(`${unsigned}x`)).toMatchObject({ status: 401 });
    const widened = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload ?? "", "base64url").toString()), keys: [""] }),
    ).toString("base64url");
    expect(await refusal(`${header}.${widened}.${good.split(".")[2]}`, { key: "anything" })).toMatchObject({
      status: 401,
      message: expect.stringMatching(/signature/),
    });
  });

  it("rotate: tokens of every configured kid verify, and a dropped kid's tokens stop", async () => {
    const next = await mint({ secret: NEXT_SECRET, kid: "k2" });
    expect((await post(next, "/v1/locks/lookup", { key: "user:42:a" })).status).toBe(200);
    const rotated = appWith({ HOLDFAST_JWT_SECRETS: JSON.stringify({ k2: NEXT_SECRET }) });
    expect((await post(next, "/v1/locks/lookup", { key: "user:42:a" }, rotated)).status).toBe(200);
    expect((await post(await mint(), "/v1/locks/lookup", { key: "user:42:a" }, rotated)).status).toBe(401);
  });

  it("from a secret bound to a tenant, name only that tenant", async () => {
    const own = await mint({ secret: SHOP_ONLY, kid: "bound" });
    expect((await post(own, "/v1/locks/lookup", { key: "user:42:a" })).status).toBe(200);
    const foreign = await mint({ secret: SHOP_ONLY, kid: "bound", tenant: "bank" });
    expect(await refusal(foreign)).toMatchObject({ status: 401, message: expect.stringMatching(/this tenant/) });
  });

  it("scope idempotency keys to their sub: another user's key is a request of its own", async () => {
    const request = { key: "user:shared", idempotencyKey: "same-key", ttlMs: 10_000 };
    const alice = await mint({ sub: "alice", keys: ["user:"] });
    const mallory = await mint({ sub: "mallory", keys: ["user:"] });
    const first = await (await post(alice, "/v1/locks/acquire", request)).json();
    expect(first).toMatchObject({ ok: true });
    expect(await (await post(alice, "/v1/locks/acquire", request)).json()).toMatchObject({ lockId: first.lockId });
    const stolen = await post(mallory, "/v1/locks/acquire", request);
    expect(stolen.status).toBe(409);
    expect(JSON.stringify(await stolen.json())).not.toContain(first.lockId);
  });

  it("scope idempotency keys to their signer too: one sub of two issuers is two users", async () => {
    const request = { key: "user:issuers", idempotencyKey: "same-key", ttlMs: 10_000 };
    const fromFirst = await mint({ sub: "u1", keys: ["user:"] });
    const fromSecond = await mint({ secret: NEXT_SECRET, kid: "k2", sub: "u1", keys: ["user:"] });
    const first = await (await post(fromFirst, "/v1/locks/acquire", request)).json();
    expect(first).toMatchObject({ ok: true });
    const other = await post(fromSecond, "/v1/locks/acquire", request);
    expect(other.status).toBe(409);
    expect(JSON.stringify(await other.json())).not.toContain(first.lockId);
    // The first issuer's own retry still finds its grant.
    expect(await (await post(fromFirst, "/v1/locks/acquire", request)).json()).toMatchObject({ lockId: first.lockId });
  });

  it("live beside static tokens", async () => {
    expect((await post("server-admin", "/v1/locks/lookup", { key: "anything" })).status).toBe(200);
    expect((await post("not-a-token", "/v1/locks/lookup", { key: "anything" })).status).toBe(401);
  });
});

describe("ES256 browser tokens from a JWKS", () => {
  let server: Server;
  let jwksUrl = "";
  let privateKey: CryptoKey;
  beforeAll(async () => {
    const pair = await generateKeyPair("ES256");
    privateKey = pair.privateKey as CryptoKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "es1", alg: "ES256", use: "sig" };
    server = createServer((_, response) => {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("verify against the JWKS and obey the same claims", async () => {
    const jwksApp = appWith({ HOLDFAST_JWKS_URL: jwksUrl });
    const token = await new SignJWT({ tenant: "shop", sub: "u1", scope: "lock read", keys: ["job:"] })
      .setProtectedHeader({ alg: "ES256", kid: "es1" })
      .setAudience("holdfast")
      .setExpirationTime("5m")
      .sign(privateKey);
    expect((await post(token, "/v1/locks/acquire", { key: "job:1" }, jwksApp)).status).toBe(200);
    expect((await post(token, "/v1/locks/acquire", { key: "other" }, jwksApp)).status).toBe(403);
    // An HS256 token on a deployment without secrets is not accepted.
    expect((await post(await mint(), "/v1/locks/lookup", { key: "user:42:a" }, jwksApp)).status).toBe(401);
  });

  it("hold tokens to HOLDFAST_JWKS_ISSUER and HOLDFAST_JWKS_TENANT when set", async () => {
    const bound = appWith({
      HOLDFAST_JWKS_URL: jwksUrl,
      HOLDFAST_JWKS_ISSUER: "https://idp.example",
      HOLDFAST_JWKS_TENANT: "shop",
    });
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ sub: "u1", scope: "lock", keys: ["job:"], ...claims })
        .setProtectedHeader({ alg: "ES256", kid: "es1" })
        .setAudience("holdfast")
        .setExpirationTime("5m")
        .sign(privateKey);
    const lookup = async (claims: Record<string, unknown>) =>
      (await post(await sign(claims), "/v1/locks/lookup", { key: "job:1" }, bound)).status;
    expect(await lookup({ tenant: "shop", iss: "https://idp.example" })).toBe(200);
    expect(await lookup({ tenant: "bank", iss: "https://idp.example" })).toBe(401); // another customer's tenant
    expect(await lookup({ tenant: "shop", iss: "https://elsewhere.example" })).toBe(401);
    expect(await lookup({ tenant: "shop" })).toBe(401); // no issuer
  });

  it("pass on a token signed by a key the JWKS lacks, so that another authenticator may know it", async () => {
    const other = await generateKeyPair("ES256");
    const foreign = await new SignJWT({ tenant: "shop", sub: "u1", scope: "lock", keys: ["job:"] })
      .setProtectedHeader({ alg: "ES256", kid: "not-in-the-jwks" })
      .setAudience("holdfast")
      .setExpirationTime("5m")
      .sign(other.privateKey as CryptoKey);
    const verify = jwtTokens({ jwksUrl });
    expect(await verify(foreign)).toBeNull();
  });
});

describe("configuration", () => {
  it("names the variable when HOLDFAST_JWT_SECRETS or HOLDFAST_JWKS_URL is wrong", () => {
    const check = (env: Record<string, string>) => () => checkConfig(env);
    expect(check({ HOLDFAST_JWT_SECRETS: "{" })).toThrow(/^HOLDFAST_JWT_SECRETS is not valid JSON/);
    expect(check({ HOLDFAST_JWT_SECRETS: "[]" })).toThrow(/^HOLDFAST_JWT_SECRETS must be a JSON object/);
    expect(check({ HOLDFAST_JWT_SECRETS: '{"k":"short"}' })).toThrow(/^HOLDFAST_JWT_SECRETS: .*shorter than 32 bytes/);
    expect(check({ HOLDFAST_JWT_SECRETS: '{"k":{"secret":1}}' })).toThrow(/^HOLDFAST_JWT_SECRETS\.k:/);
    expect(check({ HOLDFAST_JWKS_URL: "http://keys.example.com/jwks" })).toThrow(/^HOLDFAST_JWKS_URL: .*https/);
    expect(check({ HOLDFAST_TOKEN: "t", HOLDFAST_JWKS_TENANT: "shop" })).toThrow(/go with HOLDFAST_JWKS_URL/);
    expect(check({})).toThrow(/HOLDFAST_JWT_SECRETS/);
    expect(check({ HOLDFAST_JWT_SECRETS: JSON.stringify({ k1: SECRET }) })).not.toThrow();
  });

  it("mintToken refuses what the service would refuse", async () => {
    await expect(mint({ ttlSeconds: 86_401 })).rejects.toThrow(RangeError);
    await expect(mint({ scope: ["admin" as "lock"] })).rejects.toThrow(/never has admin/);
    await expect(mint({ keys: [] })).rejects.toThrow(/at least one key prefix/);
  });
});

describe("static tokens listed twice", () => {
  it("refuse a token that matches two entries (plainly and as its sha256) instead of picking one", async () => {
    const token = "listed-twice-token";
    const sha256 = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token))))
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    const twice = appWith({
      HOLDFAST_TOKENS: JSON.stringify([
        { token, tenant: "a" },
        { sha256, tenant: "b" },
      ]),
    });
    const response = await post(token, "/v1/locks/lookup", { key: "k" }, twice);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { message: expect.stringMatching(/listed twice/) } });
  });
});
