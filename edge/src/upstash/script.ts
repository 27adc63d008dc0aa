/**
 * Lua scripts as constants with a pinned SHA1 (a test checks `SCRIPT LOAD` against each),
 * sent with EVALSHA and, when Redis does not know the script (a restart, SCRIPT FLUSH),
 * once more with EVAL, which also caches it again.
 */
import { LockError } from "@holdfast/shared";
import type { Redis } from "@upstash/redis/cloudflare";
import { toLockError } from "./errors.ts";

export interface LuaScript {
  name: string;
  source: string;
  sha: string;
}

export async function runScript(
  redis: Redis,
  script: LuaScript,
  keys: string[],
  args: (string | number)[],
): Promise<unknown[]> {
  const argv = args.map(String);
  try {
    let reply: unknown;
    try {
      reply = await redis.evalsha(script.sha, keys, argv);
    } catch (error) {
      if (!/NOSCRIPT/i.test(error instanceof Error ? error.message : String(error))) throw error;
      reply = await redis.eval(script.source, keys, argv);
    }
    if (!Array.isArray(reply))
      throw new LockError("Internal", `script ${script.name} answered ${typeof reply}, not an array`);
    return reply;
  } catch (error) {
    throw toLockError(error);
  }
}
