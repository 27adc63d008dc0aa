/**
 * Broken servers that misread the request: the memory backend, handed each acquire (queued
 * or not) after one field of it was dropped or changed. One per promise of the semaphore,
 * the read-write lock and idempotent retries.
 */
import { type AcquireRequest, type Backend, createMemoryBackend } from "@holdfast/shared";

function misreading(name: string, change: (request: AcquireRequest) => AcquireRequest): () => Backend {
  return () => {
    const inner = createMemoryBackend();
    const queued = inner.acquireQueued?.bind(inner);
    return {
      ...inner,
      name: `broken: ${name}`,
      acquire: (request) => inner.acquire(change(request)),
      ...(queued ? { acquireQueued: (request, options) => queued(change(request), options) } : {}),
    };
  };
}

/** A semaphore that counts every grant as one permit. */
export const ignoresPermits = misreading("a semaphore that ignores permits", (r) => ({ ...r, permits: 1 }));

/** A write lock granted as a read lock: writers share the key with readers and each other. */
export const writerAsReader = misreading("a write lock granted as a read lock", (r) =>
  r.mode === "exclusive" ? { ...r, mode: "shared", limit: null } : r,
);

/** Idempotency keys dropped: a retry is a new request, granted a second time (or told "locked"). */
export const retryGrantsTwice = misreading("an idempotent retry that grants twice", (r) => {
  const { idempotencyKey: _dropped, ...rest } = r;
  return rest;
});
