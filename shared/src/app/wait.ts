/**
 * Server-side waiting for backends without their own queue: retry when the backend
 * signals a release (`watch`) or when the blocking holder expires, and otherwise poll
 * with a short capped backoff. The Durable Object backend replaces this with a FIFO.
 */
import type { Backend } from "../backend.ts";
import type { AcquireRequest, AcquireResult } from "../model.ts";
import { callStore } from "./store-call.ts";

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
    // Subscribe before the attempt so that a release between attempt and sleep is not missed.
    const wake = wakeOnRelease(backend, request.keyId);
    try {
      const result = await callStore(() => backend.acquire(request), storeTimeoutMs);
      const remaining = deadline - Date.now();
      if (result.ok || result.reason !== "locked" || remaining <= 0 || signal.aborted) return result;
      const untilExpiry = Math.max(1, result.retryAtMs - result.serverTimeMs + 1);
      const sleepMs = Math.min(remaining, untilExpiry, wake ? Number.POSITIVE_INFINITY : pollMs);
      await sleep(sleepMs, signal, wake?.promise);
      // A client that went away gets no further attempts (and so no orphaned grant).
      if (signal.aborted) return result;
      pollMs = Math.min(pollMs * 2, MAX_POLL_MS);
    } finally {
      wake?.stop();
    }
  }
}

function wakeOnRelease(backend: Backend, keyId: string): { promise: Promise<void>; stop: () => void } | null {
  if (!backend.watch) return null;
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  const stop = backend.watch(keyId, () => resolve());
  return { promise, stop };
}

function sleep(ms: number, signal: AbortSignal, wake: Promise<void> | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    wake?.then(done);
  });
}
