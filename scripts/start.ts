/**
 * `npm start`: the Worker under workerd (`wrangler dev`, local mode) with the Durable
 * Object backend, its state persisted under .holdfast/wrangler so that fences keep
 * increasing across restarts. Needs nothing but `npm install`; sends nothing off this
 * machine (wrangler's metrics, update check and cf fetch are switched off).
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { freePort } from "./free-port.ts";

const hostname = process.env.HOST ?? "127.0.0.1";
const port = Number(process.env.PORT ?? 8787) || (await freePort(hostname));
const inspectorPort = await freePort("127.0.0.1");
const token = process.env.HOLDFAST_TOKEN ?? "dev";
const stateDir = resolve(process.env.HOLDFAST_DATA_DIR ?? ".holdfast", "wrangler");
const wrangler = createRequire(import.meta.url).resolve("wrangler/bin/wrangler.js");

const vars = [`HOLDFAST_TOKEN:${token}`, `HOLDFAST_CORS_ORIGINS:${process.env.HOLDFAST_CORS_ORIGINS ?? ""}`];
if (process.env.HOLDFAST_TOKENS) vars.push(`HOLDFAST_TOKENS:${process.env.HOLDFAST_TOKENS}`);

const child = spawn(
  process.execPath,
  [
    wrangler,
    "dev",
    "--local",
    ...["--ip", hostname, "--port", String(port), "--inspector-port", String(inspectorPort)],
    ...["--persist-to", stateDir, "--show-interactive-dev-session=false", "--log-level", "warn"],
    ...vars.flatMap((v) => ["--var", v]),
  ],
  {
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_SEND_ERROR_REPORTS: "false",
      WRANGLER_HIDE_BANNER: "true",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
    },
  },
);

const url = `http://${hostname}:${port}`;
child.once("exit", (code, signal) => {
  console.error(`wrangler dev exited (${signal ?? code})`);
  process.exit(code ?? 1);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));

// Announce only once the Worker answers, so that the printed URL works.
for (let attempt = 0; ; attempt++) {
  try {
    const health = (await (await fetch(`${url}/health`)).json()) as { backend?: string };
    console.log(`Holdfast listening on ${url}`);
    console.log(`backend: ${health.backend} (workerd via wrangler dev), state in ${stateDir}`);
    console.log(process.env.HOLDFAST_TOKENS ? "tokens: from HOLDFAST_TOKENS" : `token: ${token}`);
    break;
  } catch {
    if (attempt > 600) throw new Error(`the Worker did not answer on ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
