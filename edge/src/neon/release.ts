/** Release: removes the grant and hands the key to the queue's head, in one statement. */
import type { LockRef, ReleaseResult } from "@holdfast/shared";
import type { NeonContext } from "./context.ts";
import { num } from "./reply.ts";

export async function runRelease(ctx: NeonContext, ref: LockRef): Promise<ReleaseResult> {
  const { names } = ctx;
  const reply = await ctx.call(
    `SELECT ${names.fn("release")}($1::text, $2::text, $3::text, $4::text, $5::integer) AS r`,
    [ref.keyId, ref.tenant, ref.token, names.channels, ctx.bounds.holders],
  );
  return { ok: reply.k === "r", serverTimeMs: num(reply, "n") };
}
