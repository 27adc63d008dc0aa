/**
 * Global setup of the workerd suites: the local stand-in for Upstash's REST API in front
 * of the real Redis, whose URL and token the Upstash suites inside workerd receive through
 * `inject`. It runs as its own Node process (this project resolves modules for workerd).
 */
import type { TestProject } from "vitest/node";
import { spawnUpstashStandin } from "../../scripts/standins/spawn-upstash.ts";

declare module "vitest" {
  export interface ProvidedContext {
    upstash: { url: string; token: string };
  }
}

export default async function setup(project: TestProject) {
  const standin = await spawnUpstashStandin();
  project.provide("upstash", { url: standin.url, token: standin.token });
  return () => standin.stop();
}
