/**
 * Issue 11, item 5: every start mode checks its configuration before it serves. A
 * malformed variable stops it with one line that names the variable (npm start used to
 * serve 503 to every request, /health included; start:node died with a raw SyntaxError).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "holdfast-config-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function run(script: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx/esm", script], {
      cwd: root,
      env: { ...process.env, PORT: "0", HOLDFAST_DATA_DIR: dataDir, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

const bad = [
  { variable: "HOLDFAST_TOKENS", env: { HOLDFAST_TOKENS: "[{" }, says: /^holdfast: HOLDFAST_TOKENS is not valid JSON/ },
  {
    variable: "HOLDFAST_WAIT_CAP_MS",
    env: { HOLDFAST_WAIT_CAP_MS: "soon" },
    says: /^holdfast: HOLDFAST_WAIT_CAP_MS must be/,
  },
  {
    variable: "HOLDFAST_CORS_ORIGINS",
    env: { HOLDFAST_CORS_ORIGINS: "app.example.com" },
    says: /^holdfast: HOLDFAST_CORS_ORIGINS: "app.example.com" is not an origin/,
  },
  {
    variable: "HOLDFAST_TOKENS (one token twice)",
    env: {
      HOLDFAST_TOKENS: JSON.stringify([
        { token: "a-token-given-twice-0123456789", tenant: "a" },
        { sha256: "6b80ca8808dd639ca93024e74db99f9c7d835ce7b605afa390424bd7969d96c8", tenant: "b" },
      ]),
    },
    says: /^holdfast: HOLDFAST_TOKENS\[1\] is the same token as HOLDFAST_TOKENS\[0\]/,
  },
  {
    variable: "HOLDFAST_RATE_LIMITS",
    env: { HOLDFAST_RATE_LIMITS: '{"shop":{"perSecond":-1}}' },
    says: /^holdfast: HOLDFAST_RATE_LIMITS\.shop\.perSecond/,
  },
];
const modes = [
  { mode: "npm start", script: "scripts/start.ts" },
  { mode: "npm run start:node", script: "scripts/start-node.ts" },
  { mode: "npm run start:firebase", script: "scripts/start-firebase.ts" },
];

it.each(
  modes.flatMap((mode) => bad.map((setting) => ({ ...mode, ...setting }))),
)("$mode stops on a malformed $variable with one line naming it", async ({ script, env, says }) => {
  const { code, stderr } = await run(script, env);
  expect(code).toBe(1);
  const lines = stderr.split("\n").filter((line) => line.trim().length > 0);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(says);
}, 40_000);
