/**
 * What `npm start` prepares before workerd can boot, kept between starts: the Worker
 * bundle and Miniflare's options from wrangler.toml. A restart with nothing changed
 * skips esbuild (0.4 s) and importing wrangler (1.2–1.8 s), which were more than half of
 * the time to the banner.
 *
 * The cache lives in node_modules/.cache/holdfast (as other tools keep theirs), not in the
 * data directory, so that a new data directory starts as fast. A bundle is reused only
 * when every file esbuild read to make it still has the same content (SHA-1 of each, from
 * the build's metafile), with the same esbuild version and options; anything else builds
 * anew. Starts that run at once each write their own bundle file and then the manifest,
 * by rename, so none reads another's half-written file.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { WorkerOptions } from "miniflare";
import { buildWorker, refreshOpenApiDocument, root, workerBuildKey } from "./build-worker.ts";

/** HOLDFAST_CACHE_DIR moves it (the start-time benchmark measures a start with an empty one). */
export const WORKER_CACHE_DIR = process.env.HOLDFAST_CACHE_DIR ?? join(root, "node_modules", ".cache", "holdfast");
const MANIFEST = join(WORKER_CACHE_DIR, "worker.json");
const OPTIONS = join(WORKER_CACHE_DIR, "worker-options.json");
/** Bundles other than the current one are removed once this old (a start may still be reading one). */
const STALE_BUNDLE_MS = 60 * 60_000;

interface Manifest {
  key: string;
  bundle: string;
  /** Each input esbuild read, relative to the repository, and the SHA-1 of its content. */
  inputs: Record<string, string>;
}

const sha1 = (data: string | Buffer) => createHash("sha1").update(data).digest("hex");

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

/** Writes `path` whole or not at all: another start may be reading it. */
function writeAtomically(path: string, content: string): void {
  const temporary = `${path}.${randomUUID()}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}

function unchanged(manifest: Manifest | undefined, key: string): manifest is Manifest {
  if (!manifest || manifest.key !== key) return false;
  try {
    statSync(join(WORKER_CACHE_DIR, manifest.bundle));
    return Object.entries(manifest.inputs).every(([input, hash]) => sha1(readFileSync(join(root, input))) === hash);
  } catch {
    return false; // an input or the bundle is gone
  }
}

/** The path of a Worker bundle built from the sources as they are now. */
export async function workerBundle(): Promise<string> {
  mkdirSync(WORKER_CACHE_DIR, { recursive: true });
  // First, so that a changed schema changes openapi.json, an input of the bundle.
  await refreshOpenApiDocument();
  const key = await workerBuildKey();
  const cached = readJson<Manifest>(MANIFEST);
  if (unchanged(cached, key)) return join(WORKER_CACHE_DIR, cached.bundle);
  const bundle = `bundle-${randomUUID()}.js`;
  const metafile = await buildWorker(join(WORKER_CACHE_DIR, bundle));
  const inputs = Object.fromEntries(
    Object.keys(metafile.inputs).map((input) => [input, sha1(readFileSync(join(root, input)))]),
  );
  writeAtomically(MANIFEST, JSON.stringify({ key, bundle, inputs } satisfies Manifest));
  removeStaleBundles(bundle);
  return join(WORKER_CACHE_DIR, bundle);
}

function removeStaleBundles(current: string): void {
  for (const file of readdirSync(WORKER_CACHE_DIR)) {
    if (!file.startsWith("bundle-") || file.startsWith(current)) continue;
    const path = join(WORKER_CACHE_DIR, file);
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_BUNDLE_MS) rmSync(path);
    } catch {
      // removed by another start meanwhile
    }
  }
}

/**
 * Miniflare's options for the Worker as wrangler derives them from wrangler.toml
 * (bindings, Durable Object classes, compatibility settings), computed by wrangler itself
 * whenever wrangler.toml or the wrangler version changes, and read from the cache otherwise.
 */
export async function wranglerWorkerOptions(): Promise<WorkerOptions> {
  const wranglerVersion = readJson<{ version: string }>(join(root, "node_modules/wrangler/package.json"))?.version;
  const key = sha1(`${wranglerVersion}\n${readFileSync(join(root, "wrangler.toml"), "utf8")}`);
  const cached = readJson<{ key: string; workerOptions: WorkerOptions }>(OPTIONS);
  if (cached?.key === key) return cached.workerOptions;
  const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(root, "wrangler.toml"));
  mkdirSync(WORKER_CACHE_DIR, { recursive: true });
  writeAtomically(OPTIONS, JSON.stringify({ key, workerOptions }));
  return workerOptions as WorkerOptions;
}
