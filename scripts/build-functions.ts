/**
 * `npm run build:functions`: what `firebase deploy --only functions` uploads, in
 * functions/dist/. Cloud Build installs the function's dependencies from npm, where the
 * workspace package @holdfast/shared does not exist: so the entry is bundled with the lock
 * core (hono and zod included), and the Google and Firebase libraries, which Cloud
 * Functions installs itself, stay external, pinned in a generated package.json.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { openApiSourcesChanged } from "./openapi-file.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
export const FUNCTIONS_DIST = join(root, "functions/dist");
/** Installed by Cloud Build from the generated package.json rather than bundled. */
const EXTERNAL = ["@google-cloud/firestore", "firebase-admin", "firebase-functions"] as const;

export async function buildFunctions(outDir = FUNCTIONS_DIST): Promise<void> {
  if (openApiSourcesChanged()) (await import("./gen-openapi.ts")).writeOpenApiJson();
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(root, "functions/src/index.ts")],
    outfile: join(outDir, "index.js"),
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: [...EXTERNAL],
    sourcemap: "linked",
    logLevel: "warning",
  });
  const manifest = JSON.parse(readFileSync(join(root, "functions/package.json"), "utf8")) as {
    version: string;
    dependencies: Record<string, string>;
  };
  const dependencies = Object.fromEntries(EXTERNAL.map((name) => [name, manifest.dependencies[name]]));
  const missing = EXTERNAL.filter((name) => !dependencies[name]);
  if (missing.length > 0) throw new Error(`functions/package.json does not pin ${missing.join(", ")}`);
  const deployed = {
    name: "holdfast-functions",
    version: manifest.version,
    private: true,
    type: "module",
    main: "index.js",
    engines: { node: "20" },
    dependencies,
  };
  writeFileSync(join(outDir, "package.json"), `${JSON.stringify(deployed, null, 2)}\n`);
  // Firebase reads the function's settings from .env files beside its source.
  for (const name of readdirSync(join(root, "functions"))) {
    if (/^\.env(\..+)?$/.test(name)) copyFileSync(join(root, "functions", name), join(outDir, name));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildFunctions();
  console.log(`built ${FUNCTIONS_DIST} (index.js + package.json): deploy with firebase deploy --only functions`);
}
