/**
 * Issue 11, item 8: after a 413 the connection is closed properly. The rest of an
 * oversized body is never read, so the connection cannot carry another request: the
 * answer says `Connection: close` and the server ends the socket after it (it used to say
 * keep-alive and then drop the socket), and the client's next request gets a new one.
 */

import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { createApp, createMemoryBackend, staticTokens } from "@holdfast/shared";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, expect, it } from "vitest";

let server: ReturnType<typeof serve>;
let port = 0;
beforeAll(async () => {
  const app = createApp({
    backend: createMemoryBackend(),
    auth: staticTokens([{ token: "t", tenant: "t", scopes: ["lock"] }]),
  });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

it("answers an oversized body with 413 and Connection: close, then ends the socket", async () => {
  const body = "x".repeat(1_000_000);
  const socket = connect(port, "127.0.0.1");
  let received = "";
  socket.on("data", (chunk) => {
    received += chunk.toString();
  });
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.on("error", () => {}); // the server stops reading: the rest of our write may fail
  socket.write(
    "POST /v1/locks/acquire HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n" +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`,
  );
  socket.write(body);
  await closed;
  expect(received).toMatch(/^HTTP\/1\.1 413 /);
  expect(received.toLowerCase()).toContain("connection: close");
  expect(received.toLowerCase()).not.toContain("keep-alive");
  expect(received).toContain('"code":"InvalidArgument"');

  // fetch (undici) gets the 413 for a 10 MB upload too, and its next request is served.
  const big = await fetch(`http://127.0.0.1:${port}/v1/locks/acquire`, {
    method: "POST",
    headers: { authorization: "Bearer t", "content-type": "application/json" },
    body: "x".repeat(10_000_000),
  });
  expect(big.status).toBe(413);
  expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
});
