/**
 * The floors the server rows are stated against, measured in the same run: a trivial
 * Hono app on the same Node (@hono/node-server) and a trivial Worker under the same
 * Miniflare, on a direct socket as `npm start` serves the real one. Each answers a POST
 * with a small JSON body, as an acquire or a release would be answered.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { Miniflare } from "miniflare";

export interface Floor {
  url: string;
  stop(): Promise<void>;
}

export async function trivialHonoApp(): Promise<Floor> {
  const app = new Hono();
  app.post("*", async (c) => {
    await c.req.json();
    return c.json({ ok: true, serverTimeMs: Date.now() });
  });
  app.get("*", (c) => c.json({ serverTimeMs: Date.now() }));
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(started));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export async function trivialWorker(): Promise<Floor> {
  const miniflare = new Miniflare({
    modules: true,
    script: `export default { async fetch(request) {
      if (request.method === "POST") await request.json();
      return Response.json({ ok: true, serverTimeMs: Date.now() });
    } };`,
    host: "127.0.0.1",
    port: 0,
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  });
  await miniflare.ready;
  const url = await miniflare.unsafeGetDirectURL();
  return { url: url.origin, stop: () => miniflare.dispose() };
}
