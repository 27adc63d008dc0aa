/**
 * The package as it ships, tried the way a user tries it: `npm pack` the workspace (its
 * prepack builds dist/), install the tarball into a fresh project outside the repository
 * with no network (the SDK has no runtime dependencies), import it from a plain `.mjs`
 * in plain Node, compile a strict TypeScript consumer with `nodenext` and with `bundler`
 * resolution and run it, and run `withlock` from `node_modules/.bin` — all against the
 * real app. Also: the SDK type-checks against web-standard types alone (no @types/node,
 * so no Node API can creep in), and the browser bundle imports nothing and never
 * reaches the server-only entry.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleSdk, emitTypes } from "../build.ts";
import { createClient } from "../src/index.ts";
import { startTestServer, type TestServer, TOKEN } from "./support/server.ts";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const tsc = join(repo, "node_modules/typescript/bin/tsc");
const scratch = mkdtempSync(join(tmpdir(), "holdfast-package-"));
const project = join(scratch, "consumer");

/**
 * A child's environment without what npm, vitest or a loader put into this one: no
 * npm_* settings of the run that started the tests, no NODE_OPTIONS (so "plain Node"
 * means no tsx), and no update check over the network.
 */
const cleanEnv = (extra: Record<string, string> = {}) => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== "NODE_OPTIONS"),
  ),
  npm_config_update_notifier: "false",
  ...extra,
});

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end; a non-zero exit is returned, not thrown. */
async function run(file: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, {
      cwd: options.cwd ?? project,
      env: cleanEnv(options.env),
      timeout: 30_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr } satisfies Ran;
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw error;
    return { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" } satisfies Ran;
  }
}

/** Like run, but a non-zero exit fails the test with everything the program said. */
async function succeed(file: string, args: string[], options: Parameters<typeof run>[2] = {}): Promise<string> {
  const ran = await run(file, args, options);
  if (ran.code !== 0) throw new Error(`${file} ${args.join(" ")} exited ${ran.code}:\n${ran.stdout}\n${ran.stderr}`);
  return ran.stdout;
}

/** Every file under `dir`, as paths relative to it. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();

let server: TestServer;
const installed = join(project, "node_modules/holdfast");

beforeAll(async () => {
  server = await startTestServer();
  const packs = join(scratch, "packs");
  mkdirSync(packs);
  await succeed("npm", ["pack", "--workspace", "holdfast", "--pack-destination", packs], { cwd: repo });
  const [tarball] = readdirSync(packs).filter((name) => name.endsWith(".tgz"));
  if (!tarball) throw new Error(`npm pack wrote no tarball to ${packs}`);
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  await succeed("npm", ["install", "--offline", "--no-audit", "--no-fund", join(packs, tarball)]);
}, 60_000);

afterAll(async () => {
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("the packed holdfast package", () => {
  it("ships the built entries, their declarations and the bin, and no sources", () => {
    const files = filesUnder(installed);
    expect(files).toEqual(
      expect.arrayContaining(["package.json", ...["index", "server", "election"].flatMap(entryFiles)]),
    );
    expect(files).toContain("dist/withlock.js");
    for (const file of files) expect(file).toMatch(/^(?:package\.json|README\.md|LICENSE)$|^dist\/.*(?:\.d\.ts|\.js)$/);
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
    expect(manifest.dependencies ?? {}).toEqual({});
  });

  it("imports from a plain .mjs in plain Node, and locks with try/finally", async () => {
    writeFileSync(
      join(project, "plain.mjs"),
      `import * as holdfast from "holdfast";
import * as server from "holdfast/server";
import { campaign } from "holdfast/election";
const { createClient, createLock, isLockError, LockError } = holdfast;
const client = createClient({ url: process.argv[2], token: process.argv[3] });
const lock = await client.acquire({ key: "package:plain", ttlMs: 10_000 });
let fence;
try {
  if (!lock.ok) throw new Error("not granted");
  fence = lock.fence;
} finally {
  await lock.release();
}
const refused = await (async () => {
  const holder = await client.acquire({ key: "package:plain" });
  try {
    const other = await client.acquire({ key: "package:plain" });
    return [other.ok, await other.release(), await other.extend(1000)];
  } finally {
    await holder.release();
  }
})();
const ran = await createLock(client)(async (held) => held.fence, { key: "package:plain" });
const term = await new Promise((resolve) => {
  const election = campaign(client, "package:leader", {
    onElected: (fence) => {
      election.resign().then(() => resolve(fence));
    },
  });
});
console.log(JSON.stringify({
  types: Object.fromEntries(Object.entries(holdfast).map(([name, value]) => [name, typeof value])),
  server: Object.keys(server),
  minted: (await server.mintToken({ secret: "s".repeat(32), kid: "k", tenant: "t", sub: "u", keys: ["a:"] })).split(".").length,
  fence,
  secondRelease: await lock.release(),
  refused,
  ran,
  term,
  isLockError: isLockError(new LockError("Aborted", "x"), "Aborted"),
}));
`,
    );
    const out = JSON.parse(await succeed(process.execPath, ["plain.mjs", server.url, TOKEN]));
    for (const name of ["createClient", "createLock", "LockError", "isLockError", "owns", "getByKey", "retryDelay"]) {
      expect(out.types[name], name).toBe("function");
    }
    expect(out.types.RETRY_DEFAULTS).toBe("object");
    expect(out.server).toEqual(["mintToken"]);
    expect(out.minted).toBe(3);
    expect(out.fence).toMatch(/^\d{15}$/);
    expect(out.secondRelease).toEqual({ ok: false });
    expect(out.refused).toEqual([false, { ok: false }, { ok: false }]);
    expect(out.ran > out.fence).toBe(true);
    expect(out.term).toMatch(/^\d{15}$/);
    expect(out.isLockError).toBe(true);
  });

  describe("in a strict TypeScript consumer", () => {
    // The public API as a consumer writes it: `await using`, narrowing on `ok`, the
    // not-acquired branch's release/extend, createLock, errors, lookups, the server entry.
    const consumer = `import {
  type AcquireResult,
  createClient,
  createLock,
  getByKey,
  isLockError,
  type Lock,
  LockError,
  type LockEvent,
  type LockInfo,
  type NotAcquired,
  owns,
  type ReleaseResult,
} from "holdfast";
import { type Campaign, campaign } from "holdfast/election";
import { type BrowserTokenClaims, type BrowserTokenScope, mintToken } from "holdfast/server";

export async function main(url: string, token: string): Promise<string> {
  const events: LockEvent[] = [];
  const client = createClient({ url, token, onEvent: (event) => events.push(event) });
  const lines: string[] = [];
  {
    await using lock = await client.acquire({ key: "package:ts", ttlMs: 10_000, autoExtend: true });
    await using refused = await client.acquire({ key: "package:ts" });
    // Without narrowing: both branches answer release() and extend().
    const maybe: AcquireResult = refused;
    const extended: { ok: boolean } = await maybe.extend(1_000);
    lines.push(\`refused \${refused.ok} \${extended.ok}\`);
    if (!refused.ok) {
      const none: NotAcquired = refused;
      const answer: { ok: false } = await none.release();
      lines.push(\`not acquired \${answer.ok}\`);
    }
    if (!lock.ok) throw new Error("not granted");
    const held: Lock = lock;
    held.signal.throwIfAborted();
    const info: LockInfo | null = await getByKey(client, held.key);
    lines.push(\`held \${await owns(client, held.lockId)} \${info?.fence === held.fence}\`);
  }
  const after: LockInfo | null = await getByKey(client, "package:ts");
  lines.push(\`disposed \${after === null}\`);
  const fence = await createLock(client)(async (lock) => lock.fence, { key: "package:ts", ttlMs: 5_000 });
  const again = await client.acquire({ key: "package:ts" });
  const first: ReleaseResult = await again.release();
  const second: ReleaseResult = await again.release();
  lines.push(\`releases \${first.ok} \${second.ok} \${fence.length}\`);
  try {
    await createLock(client)(async () => {}, { key: "package:ts", signal: AbortSignal.abort() });
  } catch (error) {
    if (isLockError(error, "Aborted") && error instanceof LockError) lines.push(\`error \${error.code}\`);
  }
  const scope: BrowserTokenScope = "lock";
  const claims: BrowserTokenClaims = { aud: "holdfast", exp: 0, tenant: "t", sub: "u", scope, keys: ["user:u:"] };
  const minted: string = await mintToken({ secret: "s".repeat(32), kid: "k", tenant: "t", sub: "u", keys: ["a:"], scope: [scope] });
  lines.push(\`claims \${claims.aud} events \${events.length > 0} minted \${minted.split(".").length}\`);
  const term = await new Promise<string>((resolve) => {
    const election: Campaign = campaign(client, "package:ts:leader", {
      onElected: (fence) => void election.resign().then(() => resolve(fence)),
    });
  });
  lines.push(\`term \${term.length}\`);
  return lines.join("\\n");
}
`;
    const compilerOptions = {
      strict: true,
      target: "es2022",
      skipLibCheck: false,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      verbatimModuleSyntax: true,
    };
    const configs = {
      // A Node service: Node's own types, no DOM; emitted and run below.
      nodenext: {
        ...compilerOptions,
        module: "nodenext",
        moduleResolution: "nodenext",
        lib: ["es2022"],
        typeRoots: [join(repo, "node_modules/@types")],
        types: ["node"],
        outDir: "out",
      },
      // A browser app behind a bundler: the DOM's types, no Node.
      bundler: {
        ...compilerOptions,
        module: "esnext",
        moduleResolution: "bundler",
        lib: ["es2022", "esnext.disposable", "dom"],
        types: [],
        noEmit: true,
      },
    };

    beforeAll(() => {
      writeFileSync(join(project, "consumer.ts"), consumer);
      for (const [name, options] of Object.entries(configs)) {
        writeFileSync(
          join(project, `tsconfig.${name}.json`),
          JSON.stringify({ compilerOptions: options, files: ["consumer.ts"] }),
        );
      }
    });

    it.concurrent.each(Object.keys(configs))("compiles without errors with moduleResolution %s", async (name) => {
      const ran = await run(process.execPath, [tsc, "-p", `tsconfig.${name}.json`]);
      expect(`${ran.stdout}${ran.stderr}`).toBe("");
      expect(ran.code).toBe(0);
    });

    it("runs, compiled for nodenext (`await using` downlevelled), on plain Node", async () => {
      await succeed(process.execPath, [tsc, "-p", "tsconfig.nodenext.json"]);
      writeFileSync(
        join(project, "run-consumer.mjs"),
        `import { main } from "./out/consumer.js";\nconsole.log(await main(process.argv[2], process.argv[3]));\n`,
      );
      const out = await succeed(process.execPath, ["run-consumer.mjs", server.url, TOKEN]);
      expect(out.trimEnd().split("\n")).toEqual([
        "refused false false",
        "not acquired false",
        "held true true",
        "disposed true",
        "releases true false 15",
        "error Aborted",
        "claims holdfast events true minted 3",
        "term 15",
      ]);
    }, 30_000);
  });

  describe("withlock from node_modules/.bin", () => {
    const bin = () => join(project, "node_modules/.bin/withlock");

    it("prints its help and exits 0", async () => {
      const help = await run(bin(), ["--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("usage: withlock <key>");
    });

    it("runs a command under the lock and releases it", async () => {
      const key = "package:withlock";
      const ran = await run(bin(), [key, "--", process.execPath, "-e", "console.log(process.env.HOLDFAST_FENCE)"], {
        env: { HOLDFAST_URL: server.url, HOLDFAST_TOKEN: TOKEN },
      });
      expect(ran.stderr).toBe("");
      expect(ran.code).toBe(0);
      expect(ran.stdout.trim()).toMatch(/^\d{15}$/);
      const client = createClient({ url: server.url, token: TOKEN });
      expect((await client.getByKey({ key })).locked).toBe(false);
    });
  });
});

describe("the SDK's sources", () => {
  it("type-check without Node's types and emit declarations with .js imports", () => {
    const outDir = join(scratch, "types");
    emitTypes(outDir);
    const files = readdirSync(outDir);
    expect(files).toEqual(expect.arrayContaining(["index.d.ts", "server.d.ts"]));
    for (const file of files) {
      expect(readFileSync(join(outDir, file), "utf8")).not.toMatch(/["']\.\.?\/[^"']*\.ts["']/);
    }
  }, 60_000);

  it("bundle for browsers into one self-contained ES module", async () => {
    const code = await bundleSdk({ minify: false });
    expect(code).not.toMatch(/\bimport\s*[({"']|require\(|node:/);
    for (const name of ["createClient", "createLock", "isLockError", "LockError", "owns", "getByKey"]) {
      expect(code).toMatch(new RegExp(`\\b${name}\\b`));
    }
  });

  it("keep the server-only entry out of the browser entry's module graph", async () => {
    const { metafile } = await build({
      entryPoints: [fileURLToPath(new URL("../src/index.ts", import.meta.url))],
      bundle: true,
      format: "esm",
      platform: "neutral",
      write: false,
      metafile: true,
      absWorkingDir: repo,
      logLevel: "silent",
    });
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toContain("sdk/src/index.ts");
    expect(inputs).not.toContain("sdk/src/server.ts");
  });
});

/** What an entry ships: its module and its declarations. */
function entryFiles(entry: string): string[] {
  return [`dist/${entry}.js`, `dist/${entry}.d.ts`];
}
