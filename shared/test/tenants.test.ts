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
