/**
 * Global setup of the workerd suites: the local stand-in for Upstash's REST API in front
 * of the real Redis, whose URL and token the Upstash suites inside workerd receive through
 * `inject`. It runs as its own Node process: this project's module resolution is set up
 * for workerd, not for Node's Redis client.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    upstash: { url: string; token: string };
  }
}

const root = fileURLToPath(new URL("../..", import.meta.url));

export default async function setup(project: TestProject) {
  const token = randomUUID();
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/standins/upstash-rest.ts"], {
    cwd: root,
    env: { ...process.env, PORT: "0", UPSTASH_STANDIN_TOKEN: token },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = await announcedUrl(child);
  project.provide("upstash", { url, token });
  return async () => {
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  };
}

function announcedUrl(child: ChildProcess): Promise<string> {
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Upstash REST stand-in did not start:\n${output}`)), 30_000);
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
      reject(new Error(`Upstash REST stand-in exited with ${code}:\n${output}`));
    });
  });
}
