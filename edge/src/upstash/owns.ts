/** R7, owns: whether a lockId names a live grant, read in one script by Redis's clock. */
import type { LockRef, OwnsResult } from "@holdfast/shared";
import type { UpstashContext } from "./context.ts";
import { holderAt, num, str } from "./reply.ts";
import { RULES } from "./rules.lua.ts";
import { type LuaScript, runScript } from "./script.ts";

const BODY = `
local tenant, token = ARGV[1], ARGV[2]
local now = clock()
if tenantOf() ~= tenant then return { 0, now } end
local value = redis.call('HGET', H, token)
if not value then return { 0, now } end
local h = decodeHolder(token, value)
if now >= h.exp then return { 0, now } end
return { 1, now, redis.call('HGET', R, 'key'), h.mode, h.permits, h.fence, h.acq, h.exp }
`;

export const OWNS: LuaScript = { name: "owns", source: RULES + BODY, sha: "c0fc4e8aa80cd59347b54876ba4ea2ffc0f8bf3f" };

export async function runOwns(ctx: UpstashContext, ref: LockRef): Promise<OwnsResult> {
  const keys = ctx.keysOf(ref.keyId);
  const reply = await runScript(ctx.redis, OWNS, keys.all, [ref.tenant, ref.token]);
  const serverTimeMs = num(reply, 1);
  if (num(reply, 0) !== 1) return { owned: false, serverTimeMs };
  return { owned: true, key: str(reply, 2), holder: holderAt(reply, 3, ref.token), serverTimeMs };
}
