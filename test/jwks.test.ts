/**
 * The JWKS a deployment verifies browser tokens against (shared/src/app/auth/jwks.ts), served
 * by a real HTTP server on this machine with a clock the test moves: one fetch serves
 * many tokens, a key the provider adds reaches us (at most one refetch per 30 s), keys of
 * the wrong type or marked for encryption never verify, and RS256 works beside ES256.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { jwtTokens } from "@holdfast/shared";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let server: Server;
let url = "";
let served: JWK[] = [];
let fetches = 0;

beforeAll(async () => {
  server = createServer((_, response) => {
    fetches += 1;
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify({ keys: served }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function signer(alg: "ES256" | "RS256", kid: string, publish: Partial<JWK> = {}) {
  const pair = await generateKeyPair(alg);
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: "sig", ...publish };
  const sign = (claims: Record<string, unknown> = {}) =>
    new SignJWT({ tenant: "shop", sub: "u1", scope: "lock", keys: ["job:"], ...claims })
      .setProtectedHeader({ alg, kid })
      .setAudience("holdfast")
      .setExpirationTime("5m")
      .sign(pair.privateKey as CryptoKey);
  return { jwk, sign };
}

describe("a JWKS URL", () => {
  it("is fetched once for many tokens, and again for a new kid only after the 30 s cooldown", async () => {
    const first = await signer("ES256", "first");
    const added = await signer("RS256", "added");
    served = [first.jwk];
    fetches = 0;
    let nowMs = Date.now();
    const verify = jwtTokens({ jwksUrl: url, now: () => nowMs });
    for (let i = 0; i < 5; i += 1)
      expect(await verify(await first.sign({ sub: `u${i}` }))).toMatchObject({ tenant: "shop" });
    expect(fetches).toBe(1);

    served = [first.jwk, added.jwk]; // the provider rotates in a new key
    expect(await verify(await added.sign())).toBeNull(); // within the cooldown: not fetched again
    expect(fetches).toBe(1);
    nowMs += 31_000;
    expect(await verify(await added.sign())).toMatchObject({ id: "jwks/sub:u1" }); // RS256, after one refetch
    expect(fetches).toBe(2);
    expect(await verify(await added.sign({ sub: "again" }))).toMatchObject({ id: "jwks/sub:again" });
    expect(fetches).toBe(2);
  });

  it("is fetched again once ten minutes old, and a key it drops stops verifying", async () => {
    const kept = await signer("ES256", "kept");
    const dropped = await signer("ES256", "dropped");
    served = [kept.jwk, dropped.jwk];
    fetches = 0;
    let nowMs = Date.now();
    const verify = jwtTokens({ jwksUrl: url, now: () => nowMs });
    expect(await verify(await dropped.sign())).not.toBeNull();
    served = [kept.jwk];
    nowMs += 10 * 60_000;
    // A new token (not in the verified cache): its kid is gone from the refetched set.
    expect(await verify(await dropped.sign({ sub: "after" }))).toBeNull();
    expect(fetches).toBe(2);
  });

  it("never verifies with a key of another type, another alg, or one marked for encryption", async () => {
    const ec = await signer("ES256", "ec");
    const mislabelled = await signer("ES256", "mislabelled", { alg: "RS256" });
    const encryption = await signer("ES256", "enc", { use: "enc" });
    served = [ec.jwk, mislabelled.jwk, encryption.jwk];
    const verify = jwtTokens({ jwksUrl: url });
    // A token claiming RS256 under an EC key's kid.
    const [, payload] = (await ec.sign()).split(".");
    const header = Buffer.from(JSON.stringify({ alg: "RS256", kid: "ec" })).toString("base64url");
    await expect(verify(`${header}.${payload}.c2ln`)).rejects.toThrow(/not an RS256 key/);
    await expect(verify(await mislabelled.sign())).rejects.toThrow(/not an ES256 key/);
    expect(await verify(await encryption.sign())).toBeNull();
  });

  it("that cannot be fetched refuses the token and says why", async () => {
    const verify = jwtTokens({ jwksUrl: "http://127.0.0.1:9/jwks.json" });
    const { sign } = await signer("ES256", "any");
    await expect(verify(await sign())).rejects.toThrow(/key set could not be fetched/);
  });
});

describe("a token's signature", () => {
  it("is refused when tampered, truncated, under crit, or when a public key is offered as an HMAC secret", async () => {
    const ec = await signer("ES256", "sig-ec");
    served = [ec.jwk];
    const verify = jwtTokens({ jwksUrl: url, secrets: { k1: { secret: "a-secret-of-at-least-thirty-two-bytes!" } } });
    const good = await ec.sign();
    const [header = "", payload = "", signature = ""] = good.split(".");
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const widened = b64({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), keys: [""] });
    await expect(verify(`${header}.${widened}.${signature}`)).rejects.toThrow(/signature does not verify/);
    await expect(verify(`${header}.${payload}.${signature.slice(0, -4)}`)).rejects.toThrow(/signature does not verify/);
    const critical = b64({ alg: "ES256", kid: "sig-ec", crit: ["exp"], exp: 1 });
    await expect(verify(`${critical}.${payload}.${signature}`)).rejects.toThrow(/crit/);
    // The classic confusion: HS256 signed with the published public key as the secret.
    const confused = `${b64({ alg: "HS256", kid: "sig-ec" })}.${payload}.${signature}`;
    await expect(verify(confused)).rejects.toThrow(/no HS256 secret has the kid "sig-ec"/);
    expect(await verify(`${b64({ alg: "none", kid: "sig-ec" })}.${payload}.${signature}`)).toBeNull();
    expect(await verify(good)).toMatchObject({ tenant: "shop" });
  });
});
