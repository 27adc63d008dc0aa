/**
 * `npm run start:node`: the whole v1 API on 127.0.0.1:8787 in plain Node, over the memory backend,
 * persisted to .holdfast/memory-journal/ (an append-only journal, each change on disk before it
 * is answered) so that fences and held locks survive crashes and restarts. No external service needed.
 */
import type { Server } from "node:http";
import { join, resolve } from "node:path";
import {
  authFromEnv,
  boundsFrom,
  budgetsFromEnv,
  checkConfigFully,
  createApp,
  createMemoryBackend,
  MEMORY_BOUNDS,
  memoryRateLimiter,
  parseCorsOrigins,
  parsePositiveInt,
} from "@holdfast/shared";
import { serve } from "@hono/node-server";
import { answerClientErrorsInJson } from "./client-errors.ts";
import { claimDataDir } from "./data-dir-lock.ts";
import { openJournal } from "./journal/index.ts";

try {
  await checkConfigFully({ ...process.env, HOLDFAST_TOKEN: process.env.HOLDFAST_TOKEN ?? "dev" });
} catch (error) {
  console.error(`holdfast: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
const port = Number(process.env.PORT ?? 8787);
const hostname = process.env.HOST ?? "127.0.0.1";
const token = process.env.HOLDFAST_TOKEN ?? "dev";
const dataDir = resolve(process.env.HOLDFAST_DATA_DIR ?? ".holdfast");
const corsOrigins = parseCorsOrigins(process.env.HOLDFAST_CORS_ORIGINS);
const waitCapMs = parsePositiveInt("HOLDFAST_WAIT_CAP_MS", process.env.HOLDFAST_WAIT_CAP_MS);

const journalDir = join(dataDir, "memory-journal");
let persistence: Awaited<ReturnType<typeof openJournal>>;
try {
  claimDataDir(journalDir, "npm run start:node");
  const compactAfterBytes = parsePositiveInt(
    "HOLDFAST_JOURNAL_COMPACT_BYTES",
    process.env.HOLDFAST_JOURNAL_COMPACT_BYTES,
  );
  persistence = await openJournal(journalDir, compactAfterBytes === undefined ? {} : { compactAfterBytes });
  for (const note of persistence.notes) console.warn(`holdfast: ${note}`);
} catch (error) {
  console.error(`holdfast: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
const backend = createMemoryBackend({
  name: "memory (persisted)",
  persist: persistence,
  bounds: boundsFrom(process.env, MEMORY_BOUNDS),
});
const app = createApp({
  backend,
  auth: authFromEnv({ ...process.env, HOLDFAST_TOKEN: token }),
  // One process: its budget is the whole server's.
  rateLimit: memoryRateLimiter({ budgetOf: budgetsFromEnv(process.env.HOLDFAST_RATE_LIMITS) }),
  // The socket's peer (@hono/node-server puts the Node request in c.env).
  clientAddress: (c) =>
    (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress,
  corsOrigins,
  ...(waitCapMs === undefined ? {} : { waitCapMs }),
});

const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
  console.log(
    [
      `Holdfast listening on http://${hostname}:${info.port}`,
      `backend: ${backend.name}, state in ${persistence.path} (append-only journal)`,
      process.env.HOLDFAST_TOKENS ? "tokens: from HOLDFAST_TOKENS" : `token: ${token}`,
    ].join("\n"),
  );
});
answerClientErrorsInJson(server as Server);

// Stop taking requests, let the answers in flight finish (their writes settle), then close the journal.
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.close(() => {
      void backend.close?.().finally(() => process.exit(0));
    });
  });
}
