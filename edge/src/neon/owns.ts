/** Owns: whether a lockId names a live grant; reads the row without locking it. */
import type { LockRef, OwnsResult } from "@holdfast/shared";
import type { NeonContext } from "./context.ts";
import { keyFromText } from "./key-text.ts";
import { holderOf, num, type Reply, str } from "./reply.ts";

export async function runOwns(ctx: NeonContext, ref: LockRef): Promise<OwnsResult> {
  const { names } = ctx;
  const reply = await ctx.call(`SELECT ${names.fn("owns")}($1::text, $2::text, $3::text) AS r`, [
    ref.keyId,
    ref.tenant,
    ref.token,
  ]);
  const serverTimeMs = num(reply, "n");
  if (reply.k !== "o") return { owned: false, serverTimeMs };
  const key = await keyFromText(str(reply, "key"), ref.tenant, ref.keyId);
  return { owned: true, key, holder: holderOf(reply.h as Reply), serverTimeMs };
}
