/**
 * The store behind `npm start`, chosen by HOLDFAST_BACKEND: the Worker's bindings for it
 * and a line for the banner. `upstash` uses UPSTASH_REDIS_REST_URL/_TOKEN when both are
 * set; otherwise it starts the local stand-in for Upstash's REST API in front of the
 * local Redis (REDIS_URL, default redis://127.0.0.1:6379), so every store runs locally.
 */
import { newToken } from "@holdfast/shared";
import { startUpstashStandin } from "./standins/upstash-rest.ts";

export interface LocalStore {
  backend: string;
  bindings: Record<string, string>;
  /** Where the data lives, for the banner. */
  describe: string;
  stop(): Promise<void>;
}

const nothingToStop = async () => {};

export async function prepareStore(env: NodeJS.ProcessEnv, stateDir: string): Promise<LocalStore> {
  const backend = env.HOLDFAST_BACKEND ?? "durable-object";
  if (backend === "durable-object") {
    return { backend, bindings: {}, describe: `state in ${stateDir}`, stop: nothingToStop };
  }
  if (backend === "upstash") return prepareUpstash(env);
  throw new Error(`HOLDFAST_BACKEND=${backend}: npm start knows durable-object and upstash`);
}

async function prepareUpstash(env: NodeJS.ProcessEnv): Promise<LocalStore> {
  const prefix = env.HOLDFAST_REDIS_PREFIX ? { HOLDFAST_REDIS_PREFIX: env.HOLDFAST_REDIS_PREFIX } : {};
  const bindings = { HOLDFAST_BACKEND: "upstash", ...prefix };
  if (env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN) {
    return {
      backend: "upstash",
      bindings: {
        ...bindings,
        UPSTASH_REDIS_REST_URL: env.UPSTASH_REDIS_REST_URL,
        UPSTASH_REDIS_REST_TOKEN: env.UPSTASH_REDIS_REST_TOKEN,
      },
      describe: `Upstash at ${env.UPSTASH_REDIS_REST_URL}`,
      stop: nothingToStop,
    };
  }
  const redisUrl = env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const standin = await startUpstashStandin({ redisUrl, token: newToken() });
  return {
    backend: "upstash",
    bindings: { ...bindings, UPSTASH_REDIS_REST_URL: standin.url, UPSTASH_REDIS_REST_TOKEN: standin.token },
    describe: `local Upstash REST stand-in on ${standin.url} in front of Redis at ${redisUrl.replace(/\/\/[^@/]*@/, "//")}`,
    stop: () => standin.close(),
  };
}
