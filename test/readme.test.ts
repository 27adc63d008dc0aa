/**
 * The README's curl session, run as printed against a fresh `npm start`: every
 * command's answer must match the `# …` line under it (`…` matches anything).
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { type StartedServer, startServer } from "./start-server.ts";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const dataDir = mkdtempSync(join(tmpdir(), "holdfast-readme-"));
let server: StartedServer | undefined;
afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function sessionScript(): string {
  const block = readme.split("<!-- readme-session:start -->")[1]?.split("<!-- readme-session:end -->")[0];
  const code = block?.match(/```bash\n([\s\S]*?)```/)?.[1];
  if (!code) throw new Error("README has no readme-session block");
  return code;
}

function expectedAnswers(script: string): RegExp[] {
  return script
    .split("\n")
    .filter((line) => line.startsWith("# {"))
    .map((line) => {
      const pattern = line
        .slice(2)
        .split("…")
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join('[^"]*?');
      return new RegExp(`^${pattern}$`);
    });
}

// Upstash and Neon keep their data in the local Redis and Postgres across runs: a fresh
// prefix gives a fresh store.
const stores = [
  { backend: "durable-object", env: {} },
  // npm run start:firebase: the exported function over a Firestore emulator it starts.
  { backend: "firebase", env: {}, script: "scripts/start-firebase.ts" },
  { backend: "upstash", env: { HOLDFAST_BACKEND: "upstash", HOLDFAST_REDIS_PREFIX: `readme-${randomUUID()}` } },
  { backend: "neon", env: { HOLDFAST_BACKEND: "neon", HOLDFAST_PG_PREFIX: `hfr_${randomUUID().slice(0, 8)}_` } },
];

it.each(stores)("runs the README's curl session as printed ($backend)", async ({ backend, env, ...entry }) => {
  await server?.stop();
  const script = "script" in entry ? entry.script : undefined;
  server = await startServer({ HOLDFAST_DATA_DIR: join(dataDir, backend), HOLDFAST_TOKEN: "dev", ...env }, script);
  const session = sessionScript();
  // curl prints bodies without a final newline; give each answer its own line.
  const prelude = 'curl() { command curl "$@"; echo; }\n';
  const { stdout } = await promisify(execFile)("bash", ["-euo", "pipefail", "-c", prelude + session], {
    env: { ...process.env, HOLDFAST_URL: server.url, HOLDFAST_TOKEN: "dev" },
  });
  const answers = stdout.split("\n").filter((line) => line.length > 0);
  const expected = expectedAnswers(session);
  expect(answers).toHaveLength(expected.length);
  answers.forEach((answer, i) => {
    expect(answer).toMatch(expected[i] as RegExp);
  });
});
