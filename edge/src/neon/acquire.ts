/**
 * Acquire: one statement, `SELECT <p>acquire(…)`, that decides a grant, a refusal or
 * (with waitMs > 0) a place in the key's queue, after serving the waiters whose blockers
 * have expired — all under the key's row lock, by Postgres's clock.
 */
import type { AcquireRequest, QueueStatus } from "@holdfast/shared";
import type { NeonContext } from "./context.ts";
import { keyText } from "./key-text.ts";
import { queueStatusOf } from "./reply.ts";

export async function runAcquire(ctx: NeonContext, request: AcquireRequest, waitMs: number): Promise<QueueStatus> {
  const { names } = ctx;
  const reply = await ctx.call(
    `SELECT ${names.fn("acquire")}($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::text, $7::integer,
       $8::integer, $9::text, $10::integer, $11::bigint, $12::text, $13::integer, $14::integer) AS r`,
    [
      request.keyId,
      request.tenant,
      keyText(request.key),
      request.token,
      request.ttlMs,
      request.mode === "exclusive" ? "x" : "s",
      request.permits,
      request.limit,
      request.idempotencyKey ?? null,
      request.priority ?? 0,
      waitMs,
      names.channels,
      ctx.bounds.holders,
      ctx.bounds.waiters,
    ],
  );
  return queueStatusOf(reply);
}
