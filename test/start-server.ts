/**
 * Starts a server entry (`scripts/start.ts` for `npm start`, `scripts/start-node.ts`)
 * as a child process on a free port, in its own process group so that stopping it
 * also stops what it started (wrangler, workerd).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

export interface StartedServer {
  url: string;
  process: ChildProcess;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

export async function startServer(env: Record<string, string>, script = "scripts/start.ts"): Promise<StartedServer> {
  const child = spawn(process.execPath, ["--import", "tsx/esm", script], {
    cwd: root,
    env: { ...process.env, PORT: "0", ...env },
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
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    const poll = setInterval(() => {
      // The whole banner: URL, backend and token lines.
      const match = output.match(/listening on (http:\/\/\S+)\n.*backend: .*\ntokens?: .*\n/);
      if (match?.[1]) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(match[1]);
      }
    }, 20);
    child.once("exit", (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    process: child,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      process.kill(-(child.pid as number), signal);
      await exited;
      // Give the group's other members (workerd) a moment to go, then make sure.
      await new Promise((resolve) => setTimeout(resolve, 200));
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // the group is gone already
      }
    },
  };
}
