/** Extend: a live grant's expiry becomes now + ttl by Postgres's clock; waiters are re-timed. */
import type { ExtendResult, LockRef } from "@holdfast/shared";
import type { NeonContext } from "./context.ts";
import { num } from "./reply.ts";

export async function runExtend(ctx: NeonContext, ref: LockRef, ttlMs: number): Promise<ExtendResult> {
  const { names } = ctx;
  const reply = await ctx.call(
    `SELECT ${names.fn("extend")}($1::text, $2::text, $3::text, $4::bigint, $5::text, $6::integer) AS r`,
    [ref.keyId, ref.tenant, ref.token, ttlMs, names.channels, ctx.bounds.holders],
  );
  if (reply.k !== "e") return { ok: false, serverTimeMs: num(reply, "n") };
  return { ok: true, expiresAtMs: num(reply, "e"), serverTimeMs: num(reply, "n") };
}
