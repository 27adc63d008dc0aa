/**
 * `npm run start:node`: the whole v1 API on 127.0.0.1:8787 in plain Node, over the memory backend,
 * persisted to .holdfast/ so that fences survive restarts. No external service needed.
 */
import { resolve } from "node:path";
import { createApp, createMemoryBackend, staticTokens, tokensFromEnv } from "@holdfast/shared";
import { serve } from "@hono/node-server";
import { filePersistence } from "./file-persistence.ts";

const port = Number(process.env.PORT ?? 8787);
const hostname = process.env.HOST ?? "127.0.0.1";
const token = process.env.HOLDFAST_TOKEN ?? "dev";
const dataFile = resolve(process.env.HOLDFAST_DATA_DIR ?? ".holdfast", "memory-state.json");
const corsOrigins = (process.env.HOLDFAST_CORS_ORIGINS ?? "").split(",").filter(Boolean);

const backend = createMemoryBackend({ name: "memory (persisted)", persist: filePersistence(dataFile) });
const tokens = tokensFromEnv({ HOLDFAST_TOKENS: process.env.HOLDFAST_TOKENS, HOLDFAST_TOKEN: token });
const app = createApp({ backend, auth: staticTokens(tokens), corsOrigins });

const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
  console.log(`Holdfast listening on http://${hostname}:${info.port}`);
  console.log(`backend: ${backend.name}, state in ${dataFile}`);
  console.log(process.env.HOLDFAST_TOKENS ? "tokens: from HOLDFAST_TOKENS" : `token: ${token}`);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
