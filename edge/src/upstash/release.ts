/**
 * Release: removes the grant and hands the key to the queue's head in the same script.
 * A re-sent release (its response lost) must not answer "not held" for a grant it did
 * release, so an applied release leaves a one-minute marker under its own nonce; a new
 * release of the same lockId carries a new nonce and is told the truth: not held.
 */
import type { LockRef, ReleaseResult } from "@holdfast/shared";
import { newToken } from "@holdfast/shared";
import type { UpstashContext } from "./context.ts";
import { num } from "./reply.ts";
import { RULES } from "./rules.lua.ts";
import { type LuaScript, runScript } from "./script.ts";

const BODY = `
local channels, tenant, token = ARGV[1], ARGV[2], ARGV[3]
local now = clock()
if redis.call('EXISTS', KEYS[8]) == 1 then return { 1, now } end
if tenantOf() ~= tenant then return { 0, now } end
local s = loadState(now)
local _, index = holderByToken(s, token)
if index then
  table.remove(s.holders, index)
  s.dirty = true
  if #s.holders == 0 then s.limit = false end
end
local retryAt, notes = dispatch(s, now, nil, nil)
saveState(s)
announce(channels, retryAt, notes, false)
if not index then return { 0, now } end
redis.call('SET', KEYS[8], '1', 'PX', 60000)
return { 1, now }
`;

export const RELEASE: LuaScript = {
  name: "release",
  source: RULES + BODY,
  sha: "b5d683263077419fb25e63e027839df25bb934d1",
};

export async function runRelease(ctx: UpstashContext, ref: LockRef): Promise<ReleaseResult> {
  const keys = ctx.keysOf(ref.keyId);
  const reply = await runScript(
    ctx.redis,
    RELEASE,
    [...keys.all, keys.replyKey(newToken())],
    [keys.channels, ref.tenant, ref.token],
  );
  return { ok: num(reply, 0) === 1, serverTimeMs: num(reply, 1) };
}
