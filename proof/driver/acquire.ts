/**
 * One acquire as the proof's clients make it, recorded for the checker. Some are sent with
 * an idempotency key and sent again at once with the same key: a retry when the client
 * aborted the first send (its outcome then unknown), a duplicate when it was answered.
 * Either way the server must answer with the same grant.
 */
import type { AcquireOp, HistoryRecorder, ReleaseOp } from "../checker/history.ts";
import { call, type Target } from "./http.ts";
import { bodyOf, type Shape } from "./shapes.ts";

export interface AcquireAsk {
  client: string;
  key: string;
  shape: Shape;
  ttlMs: number;
  waitMs: number;
  /** With a key: sent twice; the first send aborted after `abortAfterMs` (if set). */
  idempotencyKey?: string;
  abortAfterMs?: number;
  /** With a key and a wait: sent once, and probed after `probeAfterMs` to learn when it is queued. */
  probeAfterMs?: number;
}

export interface Granted {
  lockId: string;
  fence: bigint;
}

export async function acquire(
  target: Target,
  recorder: HistoryRecorder,
  ask: AcquireAsk,
): Promise<Granted | undefined> {
  if (ask.idempotencyKey === undefined) return send(target, recorder, ask);
  if (ask.probeAfterMs !== undefined) return probed(target, recorder, ask, ask.probeAfterMs);
  const first = await send(target, recorder, ask, ask.abortAfterMs);
  const again = await send(target, recorder, ask);
  return again ?? first;
}

/**
 * A waiting request and, while it waits, a probe with its key (another TTL, try once): a
 * 400 says the request is queued (or granted), which dates its place in the queue for the
 * checker. A probe that comes first finds the key free and is granted: it is let go at once.
 */
async function probed(target: Target, recorder: HistoryRecorder, ask: AcquireAsk, probeAfterMs: number) {
  const waiting = send(target, recorder, ask);
  await new Promise((resolve) => setTimeout(resolve, probeAfterMs));
  // Another TTL within the bounds (a TTL past the maximum would be refused 400 for itself).
  const probe = { ...ask, ttlMs: ask.ttlMs > 1 ? ask.ttlMs - 1 : ask.ttlMs + 1, waitMs: 0 };
  const stolen = await send(target, recorder, probe, undefined, true);
  if (stolen) {
    const release = recorder.invoke<ReleaseOp>({ type: "release", client: ask.client, lockId: stolen.lockId });
    const answer = await call(target, "/v1/locks/release", { lockId: stolen.lockId });
    recorder.complete(release, answer.outcome, { status: answer.status });
  }
  return waiting;
}

async function send(
  target: Target,
  recorder: HistoryRecorder,
  ask: AcquireAsk,
  abortAfterMs?: number,
  probe?: boolean,
) {
  const { client, key, shape, ttlMs, waitMs, idempotencyKey } = ask;
  const op = recorder.invoke<AcquireOp>({
    type: "acquire",
    client,
    key,
    ...shape,
    ttlMs,
    waited: waitMs > 0,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    ...(abortAfterMs === undefined ? {} : { abortAfterMs }),
    ...(probe ? { probe } : {}),
  });
  const body = { key, ttlMs, waitMs, ...bodyOf(shape), ...(idempotencyKey === undefined ? {} : { idempotencyKey }) };
  const answer = await call(target, "/v1/locks/acquire", body, abortAfterMs);
  const lockId = typeof answer.body.lockId === "string" ? answer.body.lockId : undefined;
  const fence = typeof answer.body.fence === "string" ? BigInt(answer.body.fence) : undefined;
  if (answer.outcome !== "ok" || lockId === undefined || fence === undefined) {
    // A 200 without a grant in it is not an answer the client can use.
    recorder.complete(op, answer.outcome === "ok" ? "unknown" : answer.outcome, {
      status: answer.status,
      ...(probe && isIdempotencyMismatch(answer.body) ? { mismatch: true } : {}),
    });
    return undefined;
  }
  recorder.complete(op, "ok", { lockId, fence, status: answer.status });
  return { lockId, fence };
}

/** Spec §3: the 400 for an idempotency key used for another request (not any other 400: a bad TTL, a limit mismatch). */
function isIdempotencyMismatch(body: Record<string, unknown>): boolean {
  const error = body.error as { code?: string; message?: string } | undefined;
  return (
    error?.code === "InvalidArgument" && /idempotencyKey was used for a different request/.test(error.message ?? "")
  );
}
