/**
 * The local stores the proof runs by itself (`--store NAME`), each started as
 * `npm run start:node`, `npm start` or `npm run start:firebase` would start it, on a free
 * port, in a process group of its own, with its own data directory, so that stopping
 * the group stops all it started (workerd, the stand-ins). Rate limits are off: the run
 * measures the store, not the tenant's budget.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { groupMembers, stopProcessGroup } from "../../local/process-group.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

export const STORES = {
  memory: {
    script: "scripts/start-node.ts",
    command: "npm run start:node",
    persistence: "append-only journal: each change on disk before it is answered",
    env: {},
  },
  "durable-object": {
    script: "scripts/start.ts",
    command: "npm start",
    persistence: "Durable Objects' SQLite storage in the data directory (workerd via Miniflare)",
    env: {},
  },
  // Fixed prefixes: the proof's keys and tables stay apart from everyone else's.
  upstash: {
    script: "scripts/start.ts",
    command: "HOLDFAST_BACKEND=upstash npm start",
    persistence:
      "the local Redis behind the REST stand-in, as configured (a durability line below if it may lose grants)",
    env: { HOLDFAST_BACKEND: "upstash", HOLDFAST_REDIS_PREFIX: "holdfast-proof:" },
  },
  neon: {
    script: "scripts/start.ts",
    command: "HOLDFAST_BACKEND=neon npm start",
    persistence:
      "the local Postgres behind the proxy stand-in, as configured (a durability line below if it may lose grants)",
    env: { HOLDFAST_BACKEND: "neon", HOLDFAST_PG_PREFIX: "hfproof_" },
  },
  firestore: {
    script: "scripts/start-firebase.ts",
    command: "npm run start:firebase",
    persistence: "the Firestore emulator, exported every 10 s and at a clean stop (a crash loses the changes since)",
    env: {},
  },
} as const;

export type StoreName = keyof typeof STORES;
export const STORE_NAMES = Object.keys(STORES) as StoreName[];

export interface RunningStore {
  url: string;
  token: string;
  /** The server's banner after its URL: backend, where the data lives, durability warnings. */
  settings: string[];
  stop(): Promise<void>;
}

/** Starts `name` with its data under `dataDir`; stops what it started if it does not come up. */
export async function startStore(name: StoreName, dataDir: string): Promise<RunningStore> {
  const token = `proof-${randomUUID()}`;
  mkdirSync(dataDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...STORES[name].env,
    PORT: "0",
    HOLDFAST_TOKEN: token,
    HOLDFAST_DATA_DIR: dataDir,
    HOLDFAST_RATE_LIMITS: '{"*":null}',
  };
  // The one token above, whatever the caller's shell configured.
  delete env.HOLDFAST_TOKENS;
  const child = spawn(process.execPath, ["--import", "tsx/esm", STORES[name].script], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const stop = () => stopAll(child, dataDir);
  try {
    const banner = await bannerOf(child, () => output);
    return { url: banner.url, token, settings: banner.settings, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function bannerOf(child: ChildProcess, output: () => string): Promise<{ url: string; settings: string[] }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`did not start in 120 s:\n${output()}`)), 120_000);
    const poll = setInterval(() => {
      const match = output().match(
        /listening on (http:\/\/\S+)\n(.*backend: .*)\ntokens?: .*\n((?:durability: .*\n)*)/,
      );
      if (match?.[1] && match[2] !== undefined) {
        const warnings = (match[3] ?? "").split("\n").filter((line) => line !== "");
        done(undefined, { url: match[1], settings: [match[2], ...warnings] });
      }
    }, 50);
    const exited = (code: number | null) => done(new Error(`exited with ${code} before serving:\n${output()}`));
    child.once("exit", exited);
    function done(error?: Error, banner?: { url: string; settings: string[] }) {
      clearTimeout(timer);
      clearInterval(poll);
      child.off("exit", exited);
      if (banner) resolve(banner);
      else reject(error);
    }
  });
}

/** The server's group, then the Firestore emulator's (a group of its own, its supervisor's) if still there. */
async function stopAll(child: ChildProcess, dataDir: string): Promise<void> {
  if (child.pid !== undefined) await stopProcessGroup(child.pid, 15_000);
  await stopEmulator(dataDir);
}

/** The Firestore emulator's group (its supervisor's, apart from the server's), if it still runs. */
export async function stopEmulator(dataDir: string): Promise<void> {
  const record = join(dataDir, "firestore", "emulator.json");
  if (!existsSync(record)) return;
  const { pgid } = JSON.parse(readFileSync(record, "utf8")) as { pgid: number };
  if (groupMembers(pgid).length > 0) await stopProcessGroup(pgid, 15_000);
}
