/**
 * Server-side waiting for backends without a queue of their own (Backend.acquireQueued):
 * retry when the blocking holder expires, and otherwise poll with a short capped
 * backoff. Not fair; stores that can queue (memory, Durable Objects) use FairQueue.
 */

import type { Backend } from "../backend.ts";
import type { AcquireRequest, AcquireResult } from "../model.ts";
import { callStore } from "../store-call.ts";

const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 200;

export async function acquireWithWait(
  backend: Backend,
  request: AcquireRequest,
  waitMs: number,
  signal: AbortSignal,
  storeTimeoutMs: number,
): Promise<AcquireResult> {
  const deadline = Date.now() + waitMs;
  let pollMs = FIRST_POLL_MS;
  for (;;) {
    const result = await callStore(() => backend.acquire(request), storeTimeoutMs);
    const remaining = deadline - Date.now();
    if (result.ok || result.reason !== "locked" || remaining <= 0 || signal.aborted) return result;
    const untilExpiry = Math.max(1, result.retryAtMs - result.serverTimeMs + 1);
    await sleep(Math.min(remaining, untilExpiry, pollMs), signal);
    // A client that went away gets no further attempts (and so no orphaned grant).
    if (signal.aborted) return result;
    pollMs = Math.min(pollMs * 2, MAX_POLL_MS);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
