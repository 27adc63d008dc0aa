/**
 * Runs every example of the README's SDK section, as printed, against the real app:
 * TypeScript ones through tsx with the SDK's sources, JavaScript ones on plain Node with
 * the SDK's bundle (no TypeScript anywhere). Also checks that the README's withlock exit
 * codes are the CLI's.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleSdk } from "../build.ts";
import { EXIT } from "../cli/exit-codes.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const sdkEntry = pathToFileURL(fileURLToPath(new URL("../src/index.ts", import.meta.url))).href;
const electionEntry = pathToFileURL(fileURLToPath(new URL("../src/election.ts", import.meta.url))).href;
const tsx = fileURLToPath(new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "holdfast-readme-sdk-"));

function between(start: string, end: string): string {
  const section = readme.split(`<!-- ${start} -->`)[1]?.split(`<!-- ${end} -->`)[0];
  if (!section) throw new Error(`README has no ${start} section`);
  return section;
}

const examples = [...between("sdk-examples:start", "sdk-examples:end").matchAll(/```(ts|js)\n([\s\S]*?)```/g)].map(
  (match) => ({ language: match[1] as "ts" | "js", code: match[2] ?? "" }),
);
const bundle = join(dir, "holdfast.mjs");

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  writeFileSync(bundle, await bundleSdk());
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("README SDK examples", () => {
  it("has examples, in TypeScript and in plain JavaScript", () => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
    expect(examples.some((example) => example.language === "js")).toBe(true);
  });

  it.concurrent.each(
    examples.map(({ language, code }, i) => [i + 1, language, code] as const),
  )("example %i (%s) runs as printed", async (i, language, code) => {
    // As printed, except: the package name points at the source (TypeScript) or the bundle
    // (JavaScript), and the URL at the test server.
    const entry = language === "ts" ? sdkEntry : pathToFileURL(bundle).href;
    const program = code
      .replaceAll('from "holdfast"', `from ${JSON.stringify(entry)}`)
      .replaceAll('from "holdfast/election"', `from ${JSON.stringify(electionEntry)}`)
      .replaceAll("http://127.0.0.1:8787", server.url);
    const file = join(dir, `example-${i}.${language === "ts" ? "mts" : "mjs"}`);
    writeFileSync(file, program);
    const args = language === "ts" ? [tsx, file] : [file];
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, { timeout: 30_000 });
    expect(stderr).toBe("");
    // Each `// → output` comment must match the next printed line (`…` matches anything).
    const printed = stdout.trimEnd().split("\n");
    for (const expected of code.matchAll(/\/\/ → (.*?)(?: \(.*\))?$/gm)) {
      const pattern = (expected[1] ?? "")
        .split("…")
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*");
      const index = printed.findIndex((line) => new RegExp(`^${pattern}$`).test(line));
      expect(index, `"${expected[1]}" in\n${stdout}`).toBeGreaterThanOrEqual(0);
      printed.splice(0, index + 1);
    }
  });
});

describe("README withlock exit codes", () => {
  it("match the CLI's", () => {
    const documented = [...between("withlock-exit-codes:start", "withlock-exit-codes:end").matchAll(/^\| (\d+) +\|/gm)]
      .map((match) => Number(match[1]))
      .sort();
    expect(documented).toEqual(Object.values(EXIT).sort());
  });
});
