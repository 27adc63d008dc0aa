/**
 * Every answer a client can get is the JSON envelope with a code, where the platform lets
 * Holdfast set it (hardening item 7). What Node's HTTP parser refuses before any handler
 * runs (a 60 KB token: 431; NUL or DEL in Authorization, a broken request line or chunk:
 * 400) is answered in JSON by the two servers Holdfast runs in Node: start:node's
 * (@hono/node-server) and start:firebase's (the Functions Framework). A compressed body,
 * which no runtime here inflates, is refused with 415 in JSON on every store.
 */
import type { Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { createApp, createMemoryBackend, staticTokens } from "@holdfast/shared";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveFunction } from "../local/serve-function.ts";
import { answerClientErrorsInJson } from "../node/src/client-errors.ts";

const app = createApp({
  backend: createMemoryBackend(),
  auth: staticTokens([{ token: "t", tenant: "t", scopes: ["lock"] }]),
});

/** Sends raw bytes and reads the whole answer (the server closes the connection). */
function exchange(port: number, request: string): Promise<{ status: number; type: string; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
    });
    socket.on("error", reject);
    socket.on("close", () => {
      const [head = "", body = ""] = received.split("\r\n\r\n");
      const type = /^content-type: *(.*)$/im.exec(head)?.[1] ?? "";
      try {
        resolve({ status: Number(head.split(" ")[1]), type, body: JSON.parse(body) });
      } catch {
        resolve({ status: Number(head.split(" ")[1]), type, body });
      }
    });
    // Written, not ended: a half-closed request may be taken as aborted; the server closes.
    socket.write(request);
  });
}

const acquire = (headers: string, body = '{"key":"a"}') =>
  `POST /v1/locks/acquire HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;

const PARSER_REFUSALS: Array<[string, string, number]> = [
  ["a 60 KB token", acquire(`Authorization: Bearer ${"a".repeat(60_000)}\r\n`), 431],
  ["NUL in Authorization", acquire("Authorization: Bearer a\0b\r\n"), 400],
  ["DEL in Authorization", acquire("Authorization: Bearer a\x7fb\r\n"), 400],
  ["a broken request line", "GARBAGE\r\n\r\n", 400],
  [
    "a broken chunk",
    "POST /v1/locks/acquire HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    400,
  ],
];

function refusesInJson(portOf: () => number) {
  it.each(PARSER_REFUSALS)("answers %s in the JSON envelope", async (_what, request, status) => {
    expect(await exchange(portOf(), request)).toEqual({
      status,
      type: "application/json",
      body: {
        ok: false,
        error: { code: "InvalidArgument", message: expect.any(String) },
        serverTimeMs: expect.any(Number),
      },
    });
  });
}

describe("start:node's server", () => {
  let server: Server;
  beforeAll(async () => {
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve()) as Server;
    });
    answerClientErrorsInJson(server);
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  refusesInJson(() => (server.address() as AddressInfo).port);

  it("refuses a compressed body with 415 in JSON, rather than read its bytes as JSON", async () => {
    for (const coding of ["gzip", "br"]) {
      const answer = await exchange(
        (server.address() as AddressInfo).port,
        acquire(`Authorization: Bearer t\r\nContent-Encoding: ${coding}\r\n`),
      );
      expect(answer).toMatchObject({ status: 415, body: { ok: false, error: { code: "InvalidArgument" } } });
    }
  });
});

describe("start:firebase's server (the Functions Framework)", () => {
  let server: Server;
  beforeAll(async () => {
    // Nothing here reaches Firestore: every request is refused before the function runs.
    process.env.FIRESTORE_EMULATOR_HOST ??= "127.0.0.1:9";
    process.env.GCLOUD_PROJECT ??= "demo-holdfast";
    process.env.HOLDFAST_TOKEN ??= "t";
    ({ server } = await serveFunction(0));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  refusesInJson(() => (server.address() as AddressInfo).port);
});
