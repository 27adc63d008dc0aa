/**
 * The package as it ships: the SDK type-checks against web-standard types alone (no
 * @types/node, so no Node API can creep in), its declarations use `.js` paths, and the
 * browser bundle imports nothing.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundleSdk, emitTypes } from "../build.ts";

const outDir = mkdtempSync(join(tmpdir(), "holdfast-types-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("the holdfast package", () => {
  it("type-checks without Node's types and emits declarations with .js imports", () => {
    emitTypes(outDir);
    const files = readdirSync(outDir);
    expect(files).toContain("index.d.ts");
    for (const file of files) {
      expect(readFileSync(join(outDir, file), "utf8")).not.toMatch(/from "\.\/[\w-]+\.ts"/);
    }
  }, 60_000);

  it("bundles for browsers into one self-contained ES module", async () => {
    const code = await bundleSdk({ minify: false });
    expect(code).not.toMatch(/\bimport\s*[({"']|require\(|node:/);
    for (const name of ["createClient", "createLock", "isLockError", "LockError", "owns", "getByKey"]) {
      expect(code).toMatch(new RegExp(`\\b${name}\\b`));
    }
  });
});
