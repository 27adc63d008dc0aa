/**
 * Queues many waiters on one key, one after the other so that their arrival order is
 * known, each releasing as soon as it is served: the order and fences they were served
 * with show whether the queue was kept. Runtime-neutral (the Node and workerd suites).
 */
import type { AcquireResult, Backend } from "@holdfast/shared";
import type { keyHandle } from "@holdfast/shared/contract";

export async function queueWaiters(
  backend: Backend,
  k: Awaited<ReturnType<typeof keyHandle>>,
  count: number,
  waitMs = 120_000,
) {
  const served: { index: number; fence: number }[] = [];
  const results: Promise<AcquireResult>[] = [];
  for (let index = 0; index < count; index++) {
    let queued!: () => void;
    const inQueue = new Promise<void>((resolve) => {
      queued = resolve;
    });
    const waiting = backend.acquireQueued?.(k.request({ ttlMs: 30_000 }), {
      waitMs,
      signal: new AbortController().signal,
      onQueued: queued,
    });
    if (!waiting) throw new Error(`the ${backend.name} backend does not wait in a queue`);
    results.push(
      waiting.then(async (result) => {
        if (result.ok) {
          served.push({ index, fence: result.fence });
          await backend.release(k.ref(result.token));
        }
        return result;
      }),
    );
    await Promise.race([inQueue, waiting]);
  }
  return { served, all: () => Promise.all(results) };
}

/** 0, 1, …, count - 1. */
export const indices = (count: number) => [...Array(count).keys()];
