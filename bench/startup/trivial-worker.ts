/**
 * The floor of `npm start`'s start time (bench/startup.bench.ts): a trivial Worker under
 * the same Miniflare, loaded the way scripts/start.ts loads it, on a direct socket,
 * printing the same banner once it answers.
 */
import { createRequire } from "node:module";

const { Miniflare } = createRequire(import.meta.url)("miniflare") as typeof import("miniflare");
const miniflare = new Miniflare({
  modules: [
    { type: "ESModule", path: "worker.js", contents: `export default { fetch: () => Response.json({ ok: true }) };` },
  ],
  host: "127.0.0.1",
  port: 0,
  unsafeDirectSockets: [{ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) }],
});
await miniflare.ready;
const url = (await miniflare.unsafeGetDirectURL()).origin;
await (await fetch(`${url}/health`)).json();
console.log(`trivial Worker listening on ${url}\nbackend: none\ntoken: none`);
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => void miniflare.dispose().finally(() => process.exit(0)));
