/**
 * The CORS and body-limit middleware that are entered only when a request needs them
 * (shared/src/app/input/cheap-middleware.ts), through a real Node server: what a browser and a
 * non-browser client see is what Hono's middleware gave them, and a chunked body (no
 * Content-Length) is still counted and refused past the limit.
 */
import type { AddressInfo } from "node:net";
import { createApp, createMemoryBackend, MAX_BODY_BYTES, staticTokens } from "@holdfast/shared";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let server: ReturnType<typeof serve>;
let url = "";
const ALLOWED = "https://app.example";
beforeAll(async () => {
  const app = createApp({
    backend: createMemoryBackend(),
    auth: staticTokens([{ token: "t", tenant: "t", scopes: ["lock"] }]),
    corsOrigins: [ALLOWED],
  });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let keys = 0;
const acquire = (headers: Record<string, string>, body: BodyInit = JSON.stringify({ key: `k${keys++}` })) =>
  fetch(`${url}/v1/locks/acquire`, {
    method: "POST",
    headers: { authorization: "Bearer t", "content-type": "application/json", ...headers },
    body,
    ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);

describe("CORS", () => {
  it("answers an allowed origin with its headers, and varies on Origin", async () => {
    const response = await acquire({ origin: ALLOWED });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(response.headers.get("access-control-expose-headers")).toBe("Retry-After");
    expect(response.headers.get("vary")).toBe("Origin");
  });

  it("gives another origin no CORS headers", async () => {
    const response = await acquire({ origin: "https://elsewhere.example" });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("gives a request without Origin no CORS headers but Vary: Origin, so caches keep them apart", async () => {
    const response = await fetch(`${url}/v1/time`);
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect(response.headers.get("vary")).toBe("Origin");
  });

  it("answers a preflight with the methods and headers a browser may use", async () => {
    const response = await fetch(`${url}/v1/locks/acquire`, {
      method: "OPTIONS",
      headers: { origin: ALLOWED, "access-control-request-method": "POST" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(response.headers.get("access-control-allow-methods")).toBe("GET,POST,OPTIONS");
    expect(response.headers.get("access-control-allow-headers")).toBe("Authorization,Content-Type,Idempotency-Key");
    expect(response.headers.get("access-control-max-age")).toBe("600");
  });
});

describe("the body limit", () => {
  const chunked = (bytes: number) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        const body = new TextEncoder().encode(JSON.stringify({ key: "k", pad: "x".repeat(bytes) }));
        for (let at = 0; at < body.length; at += 1024) controller.enqueue(body.subarray(at, at + 1024));
        controller.close();
      },
    });

  it("counts a chunked body and refuses it past the limit", async () => {
    const response = await acquire({}, chunked(MAX_BODY_BYTES));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: "InvalidArgument" } });
  });

  it("passes a small chunked body to the route", async () => {
    const small = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(JSON.stringify({ key: "chunked" })));
        controller.close();
      },
    });
    const response = await acquire({}, small);
    expect(response.status).toBe(200);
  });

  it("refuses a declared Content-Length past the limit without reading the body", async () => {
    const response = await acquire({}, JSON.stringify({ key: "k", pad: "x".repeat(MAX_BODY_BYTES) }));
    expect(response.status).toBe(413);
  });
});
