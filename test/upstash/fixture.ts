/**
 * Upstash suites' fixture: the real @upstash/redis client, through the local stand-in for
 * Upstash's REST API, in front of the real Redis (REDIS_URL, default 127.0.0.1:6379).
 * Each fixture uses its own key prefix, so runs never see each other's locks.
 */
import { newToken } from "@holdfast/shared";
import { createUpstashBackend, type UpstashBackendOptions } from "../../edge/src/upstash/backend.ts";
import { startUpstashStandin, type UpstashStandin } from "../../local/standins/upstash-rest.ts";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

export async function upstashFixture(options: Partial<UpstashBackendOptions> & { redisUrl?: string } = {}) {
  const token = `standin-${newToken()}`;
  const standin: UpstashStandin = await startUpstashStandin({ redisUrl: options.redisUrl ?? REDIS_URL, token });
  const prefix = options.prefix ?? `holdfast-test-${newToken()}`;
  const backend = createUpstashBackend({ url: standin.url, token, prefix, ...options });
  return { backend, standin, prefix, close: () => standin.close() };
}
