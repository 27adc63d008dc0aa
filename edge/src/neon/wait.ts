/**
 * Fair server-side waiting (Backend.acquireQueued), pushed rather than polled: the
 * acquire statement queues the request in its key's row (priority, then arrival), and
 * the shared pushed waiter (shared/src/waiting/pushed-waiter.ts) listens on the request's
 * own channel, `LISTEN` on one WebSocket connection of the driver's Client. The statement
 * that serves it (a release, an extend, an expiry, a leave) notifies that channel when it
 * commits. A waiter spends three statements on a handoff (queue, LISTEN, check), and one
 * more only when its blocker expires without a release or its connection breaks.
 */
import {
  type AcquireRequest,
  type AcquireResult,
  type Push,
  type PushChannel,
  type PushedQueue,
  type QueuedWaitOptions,
  type QueueStatus,
  waitForPush,
} from "@holdfast/shared";
import { Client } from "@neondatabase/serverless";
import { runAcquire } from "./acquire.ts";
import type { NeonContext } from "./context.ts";
import { runRelease } from "./release.ts";
import { queueStatusOf, type Reply } from "./reply.ts";

export async function acquireQueued(
  ctx: NeonContext,
  request: AcquireRequest,
  { waitMs, signal, waitUntil }: QueuedWaitOptions,
): Promise<AcquireResult> {
  const deadline = Date.now() + waitMs;
  try {
    const first = await runAcquire(ctx, request, waitMs);
    if (!first.queued) return first.result;
    return await waitForPush(queueOf(ctx, request), first, deadline, signal);
  } catch (error) {
    // Postgres may have queued the request, or served it, before the failure: leave, best
    // effort, so that the entry does not hold back the waiters behind it until its deadline.
    const leaving = leaveAfterFailure(ctx, request);
    waitUntil?.(leaving);
    throw error;
  }
}

function queueOf(ctx: NeonContext, request: AcquireRequest): PushedQueue {
  const channel = `${ctx.names.channels}${request.token}`;
  return {
    subscribe: (onPush) => listen(ctx, channel, (payload) => onPush(pushOf(payload, request.token))),
    check: (leave) => runCheck(ctx, request, leave),
  };
}

/** `<retryAt> <token>=<outcome json>`, or `<retryAt>` to re-time. */
function pushOf(payload: string, token: string): Push {
  const space = payload.indexOf(" ");
  const retryAtMs = Number(space < 0 ? payload : payload.slice(0, space)) || 0;
  const note = space < 0 ? "" : payload.slice(space + 1);
  if (!note.startsWith(`${token}=`)) return { retryAtMs };
  const status = queueStatusOf(JSON.parse(note.slice(token.length + 1)) as Reply);
  return status.queued ? { retryAtMs } : { outcome: status.result };
}

/** One connection that LISTENs on the waiter's channel; ready once LISTEN has run. */
function listen(ctx: NeonContext, channel: string, onPayload: (payload: string) => void): PushChannel {
  const client = new Client({ connectionString: ctx.connectionString });
  let confirm!: (listening: boolean) => void;
  const ready = new Promise<boolean>((resolve) => {
    confirm = resolve;
  });
  let finish!: () => void;
  const ended = new Promise<void>((resolve) => {
    finish = resolve;
  }).finally(() => confirm(false));
  client.on("notification", (message) => {
    if (message.channel === channel && message.payload !== undefined) onPayload(message.payload);
  });
  client.on("error", () => finish());
  client.on("end", () => finish());
  void (async () => {
    try {
      await client.connect();
      // Quoted: tokens have capitals, and an unquoted identifier would be folded to lower case.
      await client.query(`LISTEN "${channel}"`);
      confirm(true);
    } catch {
      finish();
    }
  })();
  return { ready, ended, close: () => void client.end().catch(() => undefined) };
}

async function runCheck(ctx: NeonContext, request: AcquireRequest, leave: boolean): Promise<QueueStatus> {
  const { names } = ctx;
  const reply = await ctx.call(
    `SELECT ${names.fn("check")}($1::text, $2::text, $3::text, $4::text, $5::boolean, $6::text) AS r`,
    [request.keyId, request.tenant, request.key, request.token, leave, names.channels],
  );
  return queueStatusOf(reply);
}

async function leaveAfterFailure(ctx: NeonContext, request: AcquireRequest): Promise<void> {
  try {
    const status = await runCheck(ctx, request, true);
    // A grant nobody will hear of; kept only if a retry may ask for it by its idempotency key.
    if (!status.queued && status.result.ok && request.idempotencyKey === undefined) {
      await runRelease(ctx, { tenant: request.tenant, keyId: request.keyId, token: status.result.token });
    }
  } catch {
    // The store is still failing: the entry expires with its deadline.
  }
}
