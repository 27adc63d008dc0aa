/** Lookup: a key's live holders, last fence and limit, by Postgres's clock. Writes nothing. */
import type { KeyRef, LookupResult } from "@holdfast/shared";
import type { NeonContext } from "./context.ts";
import { holderOf, limitOf, num, type Reply } from "./reply.ts";

export async function runLookup(ctx: NeonContext, ref: KeyRef): Promise<LookupResult> {
  const { names } = ctx;
  const reply = await ctx.call(`SELECT ${names.fn("lookup")}($1::text, $2::text) AS r`, [ref.keyId, ref.tenant]);
  const holders = Array.isArray(reply.h) ? (reply.h as Reply[]).map(holderOf) : [];
  return {
    serverTimeMs: num(reply, "n"),
    fence: num(reply, "f"),
    limit: holders.length > 0 ? limitOf(reply, "l") : null,
    holders,
  };
}
