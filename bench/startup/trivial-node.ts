/**
 * The floor of `npm run start:node`'s start time (bench/startup.bench.ts): a trivial Hono
 * app on @hono/node-server, started by the same loader, printing the same banner once it
 * answers.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const app = new Hono().get("*", (c) => c.json({ ok: true }));
const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: "127.0.0.1" }, async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await (await fetch(`${url}/health`)).json();
  console.log(`trivial app listening on ${url}\nbackend: none\ntoken: none`);
});
