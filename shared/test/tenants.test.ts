/**
 * Issue 11, items 5 and 6. A key id is SHA-256 over `tenant NUL key`; that encoding is
 * unambiguous because a tenant name can hold no control character (so the first NUL
 * ends it), which keyIdOf and the token configuration both enforce. Key ids of every
 * valid tenant are unchanged, so stored locks and their fences stay where they are.
 */
import { describe, expect, it } from "vitest";
import { keyIdOf, staticTokens, tokensFromEnv } from "../src/index.ts";

describe("key ids cannot collide across tenants", () => {
  it("refuses a tenant name with a control character, which is what could alias tenant x key y\\0z", async () => {
    await expect(keyIdOf("x\u0000y", "z")).rejects.toThrow(/control character/);
    await expect(keyIdOf("x\ny", "z")).rejects.toThrow(/control character/);
    expect(await keyIdOf("x", "y\u0000z")).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("keeps the key ids of valid tenants as they were (no stored lock moves)", async () => {
    expect(await keyIdOf("default", "invoice:42")).toBe("vLa6-I2oEoBFfGudgcRu65");
  });

  it("refuses such a tenant in the configuration, naming the entry", () => {
    const tokens = JSON.stringify([
      { token: "a", tenant: "x" },
      { token: "b", tenant: "x\u0000y" },
    ]);
    expect(() => tokensFromEnv({ HOLDFAST_TOKENS: tokens })).toThrow(/HOLDFAST_TOKENS\[1\]\.tenant/);
    expect(() => staticTokens([{ token: "b", tenant: "x\u0000y", scopes: ["lock"] }])).toThrow(/control character/);
  });
});

describe("token configuration is checked", () => {
  it("names HOLDFAST_TOKENS when it is not JSON", () => {
    expect(() => tokensFromEnv({ HOLDFAST_TOKENS: "[{" })).toThrow(/^HOLDFAST_TOKENS is not valid JSON/);
  });

  it("refuses duplicate tokens", () => {
    const tokens = JSON.stringify([
      { token: "same", tenant: "a" },
      { token: "same", tenant: "b" },
    ]);
    expect(() => tokensFromEnv({ HOLDFAST_TOKENS: tokens })).toThrow(/HOLDFAST_TOKENS\[1\]\.token repeats/);
  });

  it("refuses tokens that no Authorization header can carry (whitespace, control characters)", () => {
    for (const token of ["with space", "tab\there", "new\nline", "ünïcode"]) {
      expect(() => tokensFromEnv({ HOLDFAST_TOKENS: JSON.stringify([{ token, tenant: "a" }]) })).toThrow(
        /HOLDFAST_TOKENS\[0\]\.token/,
      );
    }
    expect(() => tokensFromEnv({ HOLDFAST_TOKEN: "has space" })).toThrow(/HOLDFAST_TOKEN/);
  });
});

describe("tokens kept as their SHA-256", () => {
  const sha256 = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"; // of "secret"

  it("accepts the token whose digest is configured, and not the digest itself", async () => {
    const auth = staticTokens(tokensFromEnv({ HOLDFAST_TOKENS: JSON.stringify([{ sha256, tenant: "a" }]) }));
    expect(await auth("secret")).toMatchObject({ tenant: "a", scopes: ["lock", "read"] });
    expect(await auth(sha256)).toBeNull();
  });

  it("names the same principal whether the token is given as itself or as its digest", async () => {
    const plain = await staticTokens(
      tokensFromEnv({ HOLDFAST_TOKENS: JSON.stringify([{ token: "secret", tenant: "a" }]) }),
    )("secret");
    const hashed = await staticTokens(tokensFromEnv({ HOLDFAST_TOKENS: JSON.stringify([{ sha256, tenant: "a" }]) }))(
      "secret",
    );
    expect(hashed?.id).toBe(plain?.id);
  });

  it("refuses a malformed digest, and an entry with both", () => {
    const bad = JSON.stringify([{ sha256: "abc", tenant: "a" }]);
    expect(() => tokensFromEnv({ HOLDFAST_TOKENS: bad })).toThrow(/HOLDFAST_TOKENS\[0\]\.sha256/);
    const both = JSON.stringify([{ token: "secret", sha256, tenant: "a" }]);
    expect(() => tokensFromEnv({ HOLDFAST_TOKENS: both })).toThrow(/HOLDFAST_TOKENS\[0\]/);
  });
});
