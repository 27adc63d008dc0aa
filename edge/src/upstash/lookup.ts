/** R7, lookup: a key's live holders, its last fence and limit, by Redis's clock. Writes nothing. */
import type { HolderView, KeyRef, LookupResult } from "@holdfast/shared";
import type { UpstashContext } from "./context.ts";
import { holderAt, limitOf, num, str } from "./reply.ts";
import { RULES } from "./rules.lua.ts";
import { type LuaScript, runScript } from "./script.ts";

const BODY = `
local now = clock()
if tenantOf() ~= ARGV[1] then return { now, 0, -1 } end
local s = loadState(now)
local reply = { now, lastFence(), s.limit or -1 }
for _, h in ipairs(s.holders) do
  for _, v in ipairs({ h.token, h.mode, h.permits, h.fence, h.acq, h.exp }) do reply[#reply + 1] = v end
end
return reply
`;

export const LOOKUP: LuaScript = {
  name: "lookup",
  source: RULES + BODY,
  sha: "544dba73e3e5d3e05ddf81dc73fcf76c636ebe1d",
};

const HOLDER_FIELDS = 6;

export async function runLookup(ctx: UpstashContext, ref: KeyRef): Promise<LookupResult> {
  const keys = ctx.keysOf(ref.keyId);
  const reply = await runScript(ctx.redis, LOOKUP, keys.all, [ref.tenant]);
  const holders: HolderView[] = [];
  for (let i = 3; i + HOLDER_FIELDS <= reply.length; i += HOLDER_FIELDS) {
    holders.push(holderAt(reply, i + 1, str(reply, i)));
  }
  holders.sort((a, b) => a.fence - b.fence);
  return { serverTimeMs: num(reply, 0), fence: num(reply, 1), limit: limitOf(num(reply, 2)), holders };
}
