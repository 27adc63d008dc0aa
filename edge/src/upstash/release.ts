/**
 * R7, release: removes the grant and hands the key to the queue's head in the same script.
 * A re-sent release (its response lost) must not answer "not held" for a grant it did
 * release, so an applied release leaves a marker under its own nonce, kept a margin
 * longer than the client's whole retry budget (one call's deadline); a new release of
 * the same lockId carries a new nonce and is told the truth: not held.
 */
import type { LockRef, ReleaseResult } from "@holdfast/shared";
import { newToken } from "@holdfast/shared";
import type { UpstashContext } from "./context.ts";
import { num } from "./reply.ts";
import { RULES } from "./rules.lua.ts";
import { type LuaScript, runScript } from "./script.ts";

const BODY = `
local channels, tenant, token, markerMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
BOUND_HOLDERS, BOUND_WAITERS = tonumber(ARGV[5]), tonumber(ARGV[6])
local now = clock()
if redis.call('EXISTS', KEYS[9]) == 1 then return { 1, now } end
if tenantOf() ~= tenant then return { 0, now } end
local s = loadState(now)
local _, index = holderByToken(s, token)
if index then dropHolder(s, index) end
local retryAt, notes = dispatch(s, now, nil, nil)
saveState(s)
announce(channels, retryAt, notes, false)
if not index then return { 0, now } end
redis.call('SET', KEYS[9], '1', 'PX', markerMs)
return { 1, now }
`;

const MARKER_MARGIN_MS = 10_000;

export const RELEASE: LuaScript = {
  name: "release",
  source: RULES + BODY,
  sha: "c98cacc28825d7c452a26c33a701dcbee8be0663",
};

export async function runRelease(ctx: UpstashContext, ref: LockRef): Promise<ReleaseResult> {
  const keys = ctx.keysOf(ref.keyId);
  const reply = await runScript(
    ctx.redis,
    RELEASE,
    [...keys.all, keys.replyKey(newToken())],
    [keys.channels, ref.tenant, ref.token, ctx.timeoutMs + MARKER_MARGIN_MS, ctx.bounds.holders, ctx.bounds.waiters],
  );
  return { ok: num(reply, 0) === 1, serverTimeMs: num(reply, 1) };
}
