/** Bundles the Worker (edge/src/worker.ts) for workerd, as `wrangler deploy` would. */
import { build } from "esbuild";

export async function buildWorker(outfile: string): Promise<void> {
  await build({
    entryPoints: ["edge/src/worker.ts"],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    sourcemap: "linked",
    logLevel: "warning",
  });
}
