/**
 * Bundles the Worker (edge/src/worker.ts) for workerd, as `wrangler deploy` would, and
 * measures that bundle for bench/bundle-size.bench.ts and test/worker-bundle.test.ts.
 *
 * Nothing here is esbuild-only: the size work lives in the source (zod/mini, the OpenAPI
 * document as a generated JSON module), so wrangler's own esbuild produces the same code.
 */

import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { type BuildOptions, build, type Metafile } from "esbuild";
import { openApiSourcesChanged } from "./openapi-file.ts";

/** The repository: esbuild names inputs relative to it. */
export const root = fileURLToPath(new URL("..", import.meta.url));

/** The store drivers the Upstash and Neon backends load; they stay in the deployed bundle. */
export const STORE_DRIVERS = ["@upstash/redis", "@neondatabase/serverless"] as const;

function workerOptions(extra: BuildOptions): BuildOptions {
  return {
    entryPoints: ["edge/src/worker.ts"],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    logLevel: "warning",
    // Inputs are named relative to the repository, whatever the caller's directory.
    absWorkingDir: root,
    ...extra,
  };
}

/** The served /openapi.json comes from the schemas as they are now, never a stale file. */
export async function refreshOpenApiDocument(): Promise<void> {
  // The generator (classic zod) is loaded only when a schema may have changed: loading it
  // cost about 0.35 s of every start.
  if (openApiSourcesChanged()) (await import("./gen-openapi.ts")).writeOpenApiJson();
}

const servedBuild = (outfile: string) => workerOptions({ outfile, sourcemap: "linked", metafile: true });

/** Names what `buildWorker` makes apart from its inputs: the esbuild version and its options. */
export async function workerBuildKey(): Promise<string> {
  const { version } = await import("esbuild");
  return JSON.stringify({ version, options: servedBuild("") });
}

/**
 * The Worker as `npm start` serves it, with a source map; the metafile lists what esbuild
 * read. Its one caller, worker-cache.ts, has run refreshOpenApiDocument() just before.
 */
export async function buildWorker(outfile: string): Promise<Metafile> {
  const { metafile } = await build(servedBuild(outfile));
  if (!metafile) throw new Error("esbuild returned no metafile");
  return metafile;
}

/** Another entry bundled as the Worker is (the benchmark's variants of it). */
export async function buildWorkerEntry(entry: string, outfile: string): Promise<void> {
  await build(workerOptions({ entryPoints: [entry], outfile }));
}

export interface BundleMeasure {
  code: string;
  minifiedBytes: number;
  /** zlib level 9 (`gzip -9`), which is what the figures use. */
  gzipBytes: number;
  metafile: Metafile;
  /** Minified bytes per package (or per source directory), largest first. */
  contributors: Array<{ name: string; bytes: number }>;
}

/**
 * The Worker as `wrangler deploy` uploads it (minify = true in wrangler.toml), in memory.
 * `withoutDrivers` marks the store drivers external, to see what Holdfast itself weighs.
 */
export async function measureWorkerBundle(options: { withoutDrivers?: boolean } = {}): Promise<BundleMeasure> {
  const result = await build({
    ...workerOptions({
      minify: true,
      outfile: "worker.js",
      external: ["cloudflare:*", ...(options.withoutDrivers ? STORE_DRIVERS : [])],
    }),
    // Literal here, so esbuild's types know outputFiles and metafile are present.
    write: false,
    metafile: true,
  });
  const output = result.outputFiles.find((file) => file.path.endsWith(".js"));
  if (!output) throw new Error("esbuild wrote no worker.js");
  const bytes = new Map<string, number>();
  for (const outputMeta of Object.values(result.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(outputMeta.inputs)) {
      const name = contributorOf(input);
      bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
    }
  }
  return {
    code: output.text,
    minifiedBytes: output.contents.length,
    gzipBytes: gzipSync(output.contents, { level: 9 }).length,
    metafile: result.metafile,
    contributors: [...bytes].map(([name, n]) => ({ name, bytes: n })).sort((a, b) => b.bytes - a.bytes),
  };
}

/** A package name (zod split into core, locales and the rest), or a source directory. */
function contributorOf(input: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(input);
  // The generated OpenAPI document is data, not code: worth seeing on its own.
  if (!match) return input.endsWith(".json") ? input : input.split("/").slice(0, 3).join("/");
  const [, pkg = "", rest = ""] = match;
  if (pkg === "zod") {
    if (rest.startsWith("v4/locales/")) return "zod (locales)";
    if (rest.startsWith("v4/core/")) return "zod (core)";
  }
  return pkg;
}
