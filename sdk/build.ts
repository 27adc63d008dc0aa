/**
 * Builds the SDK for publishing (`npm run build -w holdfast`, and `npm pack`'s prepack →
 * sdk/dist/) and gives the tests and the size bench the same bundles:
 * - index.js: the browser entry (`holdfast`), ESM for browsers, Workers, Deno, Bun and Node;
 * - server.js: the server-only entry (`holdfast/server`), never imported by index.js;
 * - election.js: leader election (`holdfast/election`), apart so that index.js stays small;
 *   code both entries use goes to a shared chunk (chunks/), so there is one copy of it;
 * - withlock.js: the CLI for plain Node, SDK included, with a shebang (the package's bin);
 * - *.d.ts: the types, from tsc.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * Property names that never leave the SDK (the parts' shared context, the clock tracker,
 * a request's answer), shortened in every bundle. No name of the public API, of an option
 * or of the HTTP API may be listed here; the tests that run the bundles would catch one.
 */
const INTERNAL_PROPERTIES = /^(emit|estimate|options|releaseFailed|request|sample|sentAt|skewWarned|toLocal)$/;

/** The SDK's sources as one module for any JavaScript runtime. */
const sdkBuild = {
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  mangleProps: INTERNAL_PROPERTIES,
  legalComments: "none",
} as const;

/** The browser bundle (or another entry, as one file): minified ESM, as a string. */
export async function bundleSdk(options: { minify?: boolean; entry?: "index" | "election" } = {}): Promise<string> {
  const result = await build({
    ...sdkBuild,
    entryPoints: [here(`src/${options.entry ?? "index"}.ts`)],
    minify: options.minify ?? true,
    write: false,
  });
  return result.outputFiles[0]?.text ?? "";
}

/** The CLI as one Node ESM file (SDK included), written to `outfile`. */
export async function bundleCli(outfile: string): Promise<void> {
  await build({
    ...sdkBuild,
    entryPoints: [here("cli/withlock.ts")],
    platform: "node",
    target: "node20",
    outfile,
    banner: { js: "#!/usr/bin/env node" },
    logLevel: "silent",
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dist = here("dist");
  // Built in a directory of its own and swapped in whole, so that a pack never ships a
  // stale or half-written file. It is named dist too, which every tool here ignores.
  const scratch = here(`.build-${process.pid}`);
  const staging = `${scratch}/dist`;
  rmSync(scratch, { recursive: true, force: true });
  try {
    await build({
      ...sdkBuild,
      entryPoints: [here("src/index.ts"), here("src/server.ts"), here("src/election.ts")],
      splitting: true,
      outdir: staging,
      chunkNames: "chunks/[name]-[hash]",
      logLevel: "warning",
    });
    await bundleCli(`${staging}/withlock.js`);
    emitTypes(staging);
    rmSync(dist, { recursive: true, force: true });
    renameSync(staging, dist);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log(`built ${dist}`);
}

/**
 * Type-checks src/ against web-standard types only (no @types/node: the SDK must not
 * touch Node APIs) and writes the declarations to `outDir`, with `.js` import paths.
 */
export function emitTypes(outDir: string): void {
  execFileSync(
    process.execPath,
    [here("../node_modules/typescript/bin/tsc"), "-p", here("tsconfig.build.json"), "--outDir", outDir],
    {
      stdio: "inherit",
    },
  );
  for (const file of readdirSync(outDir).filter((name) => name.endsWith(".d.ts"))) {
    const path = `${outDir}/${file}`;
    // `from "./x.ts"` and `import("./x.ts")` alike: published declarations name the .js files.
    writeFileSync(path, readFileSync(path, "utf8").replace(/(["']\.\/[\w-]+)\.ts(["'])/g, "$1.js$2"));
  }
}
