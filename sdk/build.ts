/**
 * Builds the SDK for publishing (`npm run build -w holdfast` → sdk/dist/) and gives the
 * tests and the size bench the same bundles:
 * - index.js: the SDK as one ESM module for browsers, Workers, Deno, Bun and Node;
 * - withlock.js: the CLI for Node, with a shebang;
 * - *.d.ts: the types, from tsc.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The browser bundle: minified ESM, as a string. */
export async function bundleSdk(options: { minify?: boolean } = {}): Promise<string> {
  const result = await build({
    entryPoints: [here("src/index.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    minify: options.minify ?? true,
    write: false,
    legalComments: "none",
  });
  return result.outputFiles[0]?.text ?? "";
}

/** The CLI as one Node ESM file (SDK included), written to `outfile`. */
export async function bundleCli(outfile: string): Promise<void> {
  await build({
    entryPoints: [here("cli/withlock.ts")],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outfile,
    banner: { js: "#!/usr/bin/env node" },
    logLevel: "silent",
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dist = here("dist");
  await build({
    entryPoints: [here("src/index.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    outfile: `${dist}/index.js`,
    sourcemap: true,
  });
  await bundleCli(`${dist}/withlock.js`);
  emitTypes(dist);
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
    writeFileSync(path, readFileSync(path, "utf8").replace(/(from "\.\/[\w-]+)\.ts"/g, '$1.js"'));
  }
}
