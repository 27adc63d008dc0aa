/**
 * R7, extend: a live grant's expiry becomes now + ttl in Redis's clock. A shortened lease
 * moves the queue head's retry time, so the script announces it to the waiters. Re-sent,
 * it extends again from a slightly later now: harmless.
 */
import type { ExtendResult, LockRef } from "@holdfast/shared";
import type { UpstashContext } from "./context.ts";
import { num } from "./reply.ts";
import { RULES } from "./rules.lua.ts";
import { type LuaScript, runScript } from "./script.ts";

const BODY = `
local channels, tenant, token, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
BOUND_HOLDERS, BOUND_WAITERS = tonumber(ARGV[5]), tonumber(ARGV[6])
local now = clock()
if tenantOf() ~= tenant then return { 0, now } end
local s = loadState(now)
local h = holderByToken(s, token)
if h then h.exp = now + ttl; changed(s, h) end
local retryAt, notes = dispatch(s, now, nil, nil)
saveState(s)
announce(channels, retryAt, notes, h ~= nil)
if not h then return { 0, now } end
return { 1, now, h.exp }
`;

export const EXTEND: LuaScript = {
  name: "extend",
  source: RULES + BODY,
  sha: "a32ca342d939ad9856cd8af412bb9efce925c7f2",
};

export async function runExtend(ctx: UpstashContext, ref: LockRef, ttlMs: number): Promise<ExtendResult> {
  const keys = ctx.keysOf(ref.keyId);
  const reply = await runScript(ctx.redis, EXTEND, keys.all, [
    keys.channels,
    ref.tenant,
    ref.token,
    ttlMs,
    ctx.bounds.holders,
    ctx.bounds.waiters,
  ]);
  if (num(reply, 0) !== 1) return { ok: false, serverTimeMs: num(reply, 1) };
  return { ok: true, expiresAtMs: num(reply, 2), serverTimeMs: num(reply, 1) };
}
