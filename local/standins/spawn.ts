/**
 * Runs a stand-in's CLI as a Node process of its own, on a free port, and waits for the
 * line in which it announces where it listens (`… stand-in on http://…`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface SpawnedProcess {
  /** The origin it announced, e.g. http://127.0.0.1:PORT. */
  url: string;
  stop(): Promise<void>;
}

/** `label` names it in errors ("Upstash REST stand-in"); `env` is added to this process's. */
export async function spawnStandin(
  script: string,
  label: string,
  env: Record<string, string>,
): Promise<SpawnedProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: root,
    env: { ...process.env, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = await announcedUrl(child, label);
  return {
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}

function announcedUrl(child: ChildProcess, label: string): Promise<string> {
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start:\n${output}`)), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk;
      const match = output.match(/stand-in on (http:\/\/\S+)/);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with ${code}:\n${output}`));
    });
  });
}
