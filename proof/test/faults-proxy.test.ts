/** The fault proxy's modes, each seen from a client, against a tiny HTTP server that counts what reached it. */
import { once } from "node:events";
import { createServer, request, type Server } from "node:http";
import { connect } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { requestLength } from "../faults/http-framing.ts";
import { type FaultProxy, startFaultProxy } from "../faults/proxy.ts";

let server: Server;
let proxy: FaultProxy;
const received: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      received.push(body);
      res.end(`applied ${body}`);
    });
  }).listen(0, "127.0.0.1");
  await once(server, "listening");
  proxy = await startFaultProxy({ name: "server", target: { port: (server.address() as { port: number }).port } });
});
afterEach(() => {
  proxy.setMode({ kind: "pass" });
  received.length = 0;
});
afterAll(async () => {
  await proxy.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A POST on a connection of its own (no pool), so that a cut one is never reused. */
function post(body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${proxy.url}/`, { method: "POST", agent: false }, (res) => {
      let text = "";
      res.on("data", (chunk) => {
        text += chunk;
      });
      res.on("end", () => resolve(text));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

const settled = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise.then(() => "settled"), new Promise((resolve) => setTimeout(() => resolve("pending"), ms))]);

describe("fault proxy", () => {
  it("passes requests and answers through", async () => {
    expect(await post("a")).toBe("applied a");
  });

  it("delays each direction by the latency asked", async () => {
    proxy.setMode({ kind: "latency", ms: 100 });
    const started = performance.now();
    expect(await post("slow")).toBe("applied slow");
    // The request's bytes, then the answer's: at least two delays.
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it("blackhole: holds everything until the mode changes, then lets it through", async () => {
    proxy.setMode({ kind: "blackhole" });
    const answer = post("held");
    expect(await settled(answer, 300)).toBe("pending");
    expect(received).toEqual([]);
    proxy.setMode({ kind: "pass" });
    expect(await answer).toBe("applied held");
  });

  it("reset: open connections and new ones get an RST", async () => {
    const open = connect({ host: "127.0.0.1", port: proxy.port });
    await once(open, "connect");
    const openError = once(open, "error");
    proxy.setMode({ kind: "reset" });
    expect(((await openError)[0] as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    await expect(post("refused")).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(received).toEqual([]);
  });

  it("drop-response: the server applies the request, the client sees the connection cut", async () => {
    proxy.setMode({ kind: "drop-response" });
    await expect(post("lost answer")).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(received).toEqual(["lost answer"]);
    expect(proxy.stats.droppedResponses).toBeGreaterThan(0);
  });

  it("duplicate: the server applies the request twice, the client gets one answer", async () => {
    proxy.setMode({ kind: "duplicate" });
    expect(await post("twice")).toBe("applied twice");
    await expect.poll(() => received).toEqual(["twice", "twice"]);
  });

  it("duplicate: only the share of requests asked", async () => {
    proxy.setMode({ kind: "duplicate", share: 0 });
    expect(await post("once")).toBe("applied once");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toEqual(["once"]);
  });
});

describe("HTTP request framing", () => {
  it("finds the end of Content-Length and chunked requests, and waits for a partial one", () => {
    const plain = "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    expect(requestLength(Buffer.from(`${plain}GET /next`))).toBe(plain.length);
    expect(requestLength(Buffer.from(plain.slice(0, -1)))).toBeUndefined();
    const chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    expect(requestLength(Buffer.from(chunked))).toBe(chunked.length);
    expect(requestLength(Buffer.from(chunked.slice(0, -2)))).toBeUndefined();
    expect(requestLength(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))).toBe(27);
  });
});
