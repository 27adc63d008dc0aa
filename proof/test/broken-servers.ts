/**
 * Deliberately broken servers for the proof's self-test: the shared app over backends
 * that each break one promise. The checker must catch every one of them.
 */
import { type Backend, createApp, createMemoryBackend, staticTokens } from "@holdfast/shared";
import { checkThenSetBackend, clockFenceBackend } from "../../shared/test/fixtures/broken-backends.ts";
import type { Target } from "../driver/http.ts";

/** A release that frees the key whoever asks: it ignores whose lockId it names. */
function releaseIgnoresOwner(): Backend {
  const inner = createMemoryBackend();
  return {
    ...inner,
    name: "broken: release ignores the owner",
    async release(ref) {
      const { holders } = await inner.lookup({ tenant: ref.tenant, key: "", keyId: ref.keyId });
      for (const holder of holders) await inner.release({ ...ref, token: holder.token });
      return { ok: true, serverTimeMs: Date.now() };
    },
  };
}

/** Forgets everything every `every` grants, fences included, as a store kept only in memory would at a restart. */
function forgetsAtRestart(every = 12): Backend {
  let inner = createMemoryBackend();
  let grants = 0;
  const current = () => inner;
  return {
    name: "broken: fences reset at restart",
    async acquire(request) {
      const result = await current().acquire(request);
      if (result.ok && ++grants % every === 0) inner = createMemoryBackend();
      return result;
    },
    release: (ref) => current().release(ref),
    extend: (ref, ttlMs) => current().extend(ref, ttlMs),
    owns: (ref) => current().owns(ref),
    lookup: (ref) => current().lookup(ref),
    time: () => current().time(),
  };
}

/**
 * Expiry decided by another clock than the one that granted (a client's, or an instance's
 * that runs ahead): the lease ends `aheadMs` before the expiry the grant promised.
 */
function expiresEarly(aheadMs = 150): Backend {
  const inner = createMemoryBackend();
  return {
    ...inner,
    name: "broken: expiry by a clock ahead",
    async acquire(request) {
      const result = await inner.acquire({ ...request, ttlMs: Math.max(1, request.ttlMs - aheadMs) });
      return result.ok ? { ...result, expiresAtMs: result.expiresAtMs + aheadMs } : result;
    },
  };
}

/** A queue served newest first: each request outranks every one before it (a LIFO, or a queue that lets newcomers barge). */
function servesNewestFirst(): Backend {
  const inner = createMemoryBackend();
  let arrivals = 0;
  return {
    ...inner,
    name: "broken: a queue served out of order",
    acquire: (request) => inner.acquire({ ...request, priority: ++arrivals }),
    acquireQueued: (request, options) => {
      const queued = inner.acquireQueued;
      if (!queued) throw new Error("the memory backend queues");
      return queued({ ...request, priority: ++arrivals }, options);
    },
  };
}

export const BROKEN: Record<string, () => Backend> = {
  "check-then-set without atomicity": checkThenSetBackend,
  "fences from the clock": clockFenceBackend,
  "a release that ignores the owner": releaseIgnoresOwner,
  "fences reset at restart": forgetsAtRestart,
  "expiry decided by a clock ahead of the granting one": expiresEarly,
  "a queue served out of order": servesNewestFirst,
};

/** The token the proof's test servers accept. */
export const PROOF_TOKEN = "proof";

/** The real app over `backend`, taking PROOF_TOKEN. */
export function appOver(backend: Backend) {
  return createApp({
    backend,
    auth: staticTokens([{ token: PROOF_TOKEN, tenant: "proof", scopes: ["lock", "read"] }]),
  });
}

/**
 * A target that serves `backend` in this process, through the real app. The client's
 * abort is honoured as over a socket: the answer is lost, the request still runs.
 */
export function inProcess(backend: Backend): Target {
  const app = appOver(backend);
  const fetch = (url: string, init: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      const signal = init.signal;
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      Promise.resolve(app.request(url, { ...init, signal: null })).then(resolve, reject);
    });
  return { url: "http://proof.test", token: PROOF_TOKEN, fetch };
}
