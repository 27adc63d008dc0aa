/**
 * Issue 11, item 8: a JSON body that is not valid UTF-8 is refused (400). Decoded
 * leniently, every invalid byte became U+FFFD, so different byte strings named one lock.
 */
import { expect, it } from "vitest";
import { createApp, createMemoryBackend, staticTokens } from "../src/index.ts";

const app = createApp({
  backend: createMemoryBackend(),
  auth: staticTokens([{ token: "t", tenant: "x", scopes: ["lock", "read"] }]),
});
const send = (body: Uint8Array<ArrayBuffer>) =>
  app.request("/v1/locks/acquire", {
    method: "POST",
    headers: { authorization: "Bearer t", "content-type": "application/json" },
    body,
  });
const bytes = (...parts: Array<string | number[]>): Uint8Array<ArrayBuffer> =>
  new Uint8Array(parts.flatMap((part) => (typeof part === "string" ? [...new TextEncoder().encode(part)] : part)));

it("refuses invalid UTF-8 in the body, so two byte strings can never alias one key", async () => {
  for (const invalid of [[0xff], [0xfe], [0xc3], [0xed, 0xa0, 0x80]]) {
    const response = await send(bytes('{"key":"a', invalid, '"}'));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      ok: false,
      error: { code: "InvalidArgument", message: expect.stringMatching(/UTF-8/) },
    });
  }
  // The key those bytes would have become is untouched.
  const lookup = await app.request("/v1/locks/lookup", {
    method: "POST",
    headers: { authorization: "Bearer t", "content-type": "application/json" },
    body: JSON.stringify({ key: "a\uFFFD" }),
  });
  expect(await lookup.json()).toMatchObject({ locked: false, fence: null });
  // Valid multi-byte UTF-8 still works.
  expect((await send(bytes('{"key":"caf', [0xc3, 0xa9], '"}'))).status).toBe(200);
});
