/**
 * Global setup of the workerd suites: the local stand-ins for Upstash's REST API and for
 * Neon's proxy, in front of the real Redis and Postgres, whose addresses the suites inside
 * workerd receive through `inject`. They run as Node processes of their own (this project
 * resolves modules for workerd).
 */
import type { TestProject } from "vitest/node";
import { spawnNeonStandin } from "../../local/standins/spawn-neon.ts";
import { spawnUpstashStandin } from "../../local/standins/spawn-upstash.ts";

declare module "vitest" {
  export interface ProvidedContext {
    upstash: { url: string; token: string };
    /** A connection string naming the Neon stand-in's own host and port (localProxy). */
    neon: { connectionString: string };
  }
}

export default async function setup(project: TestProject) {
  const [upstash, neon] = await Promise.all([spawnUpstashStandin(), spawnNeonStandin()]);
  project.provide("upstash", { url: upstash.url, token: upstash.token });
  project.provide("neon", { connectionString: `postgres://postgres@${neon.wsProxy}/test` });
  return async () => {
    await Promise.all([upstash.stop(), neon.stop()]);
  };
}
