/**
 * `npm start`: the Worker under workerd (Miniflare, the engine of `wrangler dev`),
 * configured from wrangler.toml, with the store HOLDFAST_BACKEND names (local-store.ts):
 * Durable Objects persisted under .holdfast/ by default, or Upstash Redis. Fences keep
 * increasing across restarts either way. Miniflare is used
 * directly, and the Worker is served on its own socket, because wrangler dev's proxy
 * and Miniflare's entry worker each add a hop (~2 ms and ~0.4 ms a request here).
 */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { prepareStore } from "../local/local-store.ts";
import { claimDataDir } from "../node/src/data-dir-lock.ts";
import { workerBundle, wranglerWorkerOptions } from "./worker-cache.ts";

// Keep every tool on this machine: no metrics, no cf fetch.
process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

// Required, not imported: an ESM import of Miniflare's 3.8 MB CommonJS file first scans it
// for its export names (about 0.25 s of every start).
const { Miniflare } = createRequire(import.meta.url)("miniflare") as typeof import("miniflare");

const host = process.env.HOST ?? "127.0.0.1";
const port = Number(process.env.PORT ?? 8787);
const token = process.env.HOLDFAST_TOKEN ?? "dev";
const stateDir = resolve(process.env.HOLDFAST_DATA_DIR ?? ".holdfast");

const fail = (error: unknown): never => {
  console.error(`holdfast: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
};

const store = await (async () => {
  // The Worker would answer 503 to everything with a bad setting: stop here instead. The
  // module itself, not the package index: the index loads zod and Hono (0.2 s).
  const { checkConfigFully } = await import("../shared/src/app/config/check-config.ts");
  await checkConfigFully({ ...process.env, HOLDFAST_TOKEN: token });
  // Durable Objects' SQLite files: one server at a time, or fences repeat.
  claimDataDir(join(stateDir, "durable-objects"), "npm start");
  return prepareStore(process.env, stateDir);
})().catch(fail);
// Both kept between starts (worker-cache.ts): rebuilt only when their sources change.
const [script, workerOptions] = await Promise.all([workerBundle(), wranglerWorkerOptions()]);
const miniflare = new Miniflare({
  ...workerOptions,
  name: "holdfast",
  // The one module, given whole: with only a path, Miniflare parses the bundle to find
  // its imports (there are none), which took 0.35 s of every start.
  modules: [{ type: "ESModule", path: script, contents: readFileSync(script, "utf8") }],
  modulesRoot: dirname(script),
  bindings: {
    ...workerOptions.bindings,
    HOLDFAST_TOKEN: token,
    HOLDFAST_CORS_ORIGINS: process.env.HOLDFAST_CORS_ORIGINS ?? "",
    ...(process.env.HOLDFAST_TOKENS ? { HOLDFAST_TOKENS: process.env.HOLDFAST_TOKENS } : {}),
    ...(process.env.HOLDFAST_JWT_SECRETS ? { HOLDFAST_JWT_SECRETS: process.env.HOLDFAST_JWT_SECRETS } : {}),
    ...Object.fromEntries(
      ["HOLDFAST_JWKS_URL", "HOLDFAST_JWKS_ISSUER", "HOLDFAST_JWKS_TENANT"].flatMap((name) =>
        process.env[name] ? [[name, process.env[name]]] : [],
      ),
    ),
    ...(process.env.HOLDFAST_RATE_LIMITS ? { HOLDFAST_RATE_LIMITS: process.env.HOLDFAST_RATE_LIMITS } : {}),
    ...(process.env.HOLDFAST_WAIT_CAP_MS ? { HOLDFAST_WAIT_CAP_MS: process.env.HOLDFAST_WAIT_CAP_MS } : {}),
    ...store.bindings,
  },
  durableObjectsPersist: join(stateDir, "durable-objects"),
  // Miniflare's own entry (its dispatch and tooling) stays on a private port.
  host: "127.0.0.1",
  port: 0,
  unsafeDirectSockets: [{ host, port }],
});
await miniflare.ready;
const url = await miniflare.unsafeGetDirectURL();
const health = (await (await fetch(new URL("/health", url))).json()) as { backend?: string };
const origin = url.origin;
console.log(
  [
    `Holdfast listening on ${origin}`,
    `backend: ${health.backend} (workerd via Miniflare), ${store.describe}`,
    process.env.HOLDFAST_TOKENS ? "tokens: from HOLDFAST_TOKENS" : `token: ${token}`,
    ...store.warnings.map((warning) => `durability: ${warning}`),
  ].join("\n"),
);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void Promise.allSettled([miniflare.dispose(), store.stop()]).finally(() => process.exit(0));
  });
}
