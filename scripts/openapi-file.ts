/** Where the generated OpenAPI document lives, and whether the schemas changed after it. */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const OPENAPI_JSON_PATH = fileURLToPath(new URL("../shared/src/app/meta/openapi.json", import.meta.url));
const SOURCES = fileURLToPath(new URL("../shared/src", import.meta.url));

/** True when a file under shared/src (where every schema of the document lives) is newer than it. */
export function openApiSourcesChanged(): boolean {
  let written: number;
  try {
    written = statSync(OPENAPI_JSON_PATH).mtimeMs;
  } catch {
    return true;
  }
  return readdirSync(SOURCES, { recursive: true, encoding: "utf8" }).some(
    (file) => file.endsWith(".ts") && statSync(join(SOURCES, file)).mtimeMs > written,
  );
}
