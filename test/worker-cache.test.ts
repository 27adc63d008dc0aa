/**
 * npm start's kept Worker bundle (scripts/worker-cache.ts): reused while every input has
 * the content it was built from, built anew when one differs or the bundle is gone.
 * Inputs are not edited here (other tests read them): the manifest's record of one is.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";

const cacheDir = mkdtempSync(join(tmpdir(), "holdfast-worker-cache-"));
process.env.HOLDFAST_CACHE_DIR = cacheDir;
const { workerBundle } = await import("../scripts/worker-cache.ts");
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

it("reuses the bundle while its inputs are unchanged, and rebuilds when one is not", async () => {
  const first = await workerBundle();
  expect(await workerBundle()).toBe(first);
  const manifestPath = join(cacheDir, "worker.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { inputs: Record<string, string> };
  expect(Object.keys(manifest.inputs)).toContain("edge/src/worker.ts");
  manifest.inputs["shared/src/keys.ts"] = "0".repeat(40); // as if keys.ts had changed since
  writeFileSync(manifestPath, JSON.stringify(manifest));
  const rebuilt = await workerBundle();
  expect(rebuilt).not.toBe(first);
  expect(readFileSync(rebuilt, "utf8")).toContain("LockObject");
  rmSync(rebuilt);
  expect(await workerBundle()).not.toBe(rebuilt); // the bundle is gone: built again
}, 60_000);
