/**
 * Writes shared/src/app/meta/openapi.json, the document `GET /openapi.json` serves, from
 * the zod schemas (shared/src/app/meta/openapi-spec.ts). Generated at build time so the
 * Worker ships neither classic zod nor the OpenAPI generator. `--check` fails instead of
 * writing when the file is stale. Run by scripts/build-worker.ts (so `npm start` always
 * serves a fresh one); `wrangler deploy` bundles the committed file, which
 * test/worker-bundle.test.ts keeps equal to the generator's output.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { buildOpenApiDocument } from "../shared/src/app/meta/openapi-spec.ts";
import { OPENAPI_JSON_PATH } from "./openapi-file.ts";

export { OPENAPI_JSON_PATH };

/**
 * Pretty-printed for review, in the layout Biome gives JSON, so `npm run check` stays
 * clean after a regeneration. The app re-serialises the document, so the served bytes do
 * not depend on this layout.
 */
function render(): string {
  const text = `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
  const biome = createRequire(import.meta.url).resolve("@biomejs/biome/bin/biome");
  const formatted = spawnSync(process.execPath, [biome, "format", `--stdin-file-path=${OPENAPI_JSON_PATH}`], {
    input: text,
    encoding: "utf8",
  });
  return formatted.status === 0 && formatted.stdout ? formatted.stdout : text;
}

/** True when the committed file holds the document the schemas produce now. */
export function openApiFileIsCurrent(): boolean {
  try {
    return (
      JSON.stringify(JSON.parse(readFileSync(OPENAPI_JSON_PATH, "utf8"))) === JSON.stringify(buildOpenApiDocument())
    );
  } catch {
    return false;
  }
}

/**
 * Rewrites the file only when its content changed; an unchanged one is touched instead, so
 * that openApiSourcesChanged() stays false until a schema changes again.
 */
export function writeOpenApiJson(): boolean {
  if (openApiFileIsCurrent()) {
    const now = new Date();
    utimesSync(OPENAPI_JSON_PATH, now, now);
    return false;
  }
  writeFileSync(OPENAPI_JSON_PATH, render());
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--check")) {
    if (!openApiFileIsCurrent()) {
      console.error(`${OPENAPI_JSON_PATH} is stale: run npx tsx scripts/gen-openapi.ts`);
      process.exit(1);
    }
  } else {
    console.log(writeOpenApiJson() ? `wrote ${OPENAPI_JSON_PATH}` : `${OPENAPI_JSON_PATH} is up to date`);
  }
}
