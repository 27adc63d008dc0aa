/**
 * A scripted stand-in for the service, for fake-clock unit tests only (the behaviour
 * tests run against the real app). It answers through an injected `fetch`, reads the
 * (faked) clocks, and records when each request arrived.
 */
export type Reply = { status: number; body: object; headers?: Record<string, string> } | "hang";

export interface FakeService {
  fetch: typeof fetch;
  /** Every request: path, parsed body, and performance.now() when it arrived. */
  calls: { path: string; body: Record<string, unknown>; at: number }[];
}

/** `route` decides each answer; it may return a promise to answer later (fake time). */
export function fakeService(
  route: (path: string, body: Record<string, unknown>) => Reply | Promise<Reply>,
): FakeService {
  const calls: FakeService["calls"] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const path = new URL(String(input)).pathname;
    const body = init?.body ? JSON.parse(String(init.body)) : {};
    calls.push({ path, body, at: performance.now() });
    const signal = init?.signal;
    const reply = await Promise.race([
      Promise.resolve(route(path, body)),
      new Promise<never>((_, reject) => {
        if (signal?.aborted) reject(signal.reason);
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
    ]);
    if (reply === "hang")
      return new Promise<Response>((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));
    return new Response(JSON.stringify(reply.body), {
      status: reply.status,
      headers: { "content-type": "application/json", ...reply.headers },
    });
  };
  return { fetch, calls };
}

/** A grant as the server would send it, `ttlMs` from the (faked) server clock. */
export const granted = (ttlMs: number, serverTimeMs = Date.now()): Reply => ({
  status: 200,
  body: {
    ok: true,
    lockId: `${"k".repeat(22)}.${"t".repeat(22)}`,
    fence: "000000000000001",
    expiresAtMs: serverTimeMs + ttlMs,
    serverTimeMs,
  },
});
export const locked = (): Reply => ({ status: 409, body: { ok: false, reason: "locked", serverTimeMs: Date.now() } });
export const extended = (ttlMs: number): Reply => ({
  status: 200,
  body: { ok: true, expiresAtMs: Date.now() + ttlMs, serverTimeMs: Date.now() },
});
export const notHeld = (): Reply => ({ status: 404, body: { ok: false, serverTimeMs: Date.now() } });
export const released = (): Reply => ({ status: 200, body: { ok: true, serverTimeMs: Date.now() } });
