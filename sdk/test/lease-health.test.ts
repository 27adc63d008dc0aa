/**
 * Lease health on a fake clock: when autoExtend fires, where the local deadline lies
 * (from the request's SEND time), and that lock.signal aborts the moment the lease is
 * lost or can no longer be proven — without unhandled rejections (vitest fails the
 * run on any).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createClient, isLockError, type Lock, type LockEvent } from "../src/index.ts";
import { extended, fakeService, granted, notHeld, type Reply, released } from "./support/fake-service.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A service that grants `ttlMs` after `grantDelayMs`, and answers extends with `onExtend`. */
function setup(options: { ttlMs: number; onExtend?: () => Reply | Promise<Reply>; grantDelayMs?: number }) {
  const events: LockEvent[] = [];
  const service = fakeService((path) => {
    if (path.endsWith("/acquire")) {
      const delay = options.grantDelayMs ?? 0;
      if (delay === 0) return granted(options.ttlMs);
      // The server decides halfway through the round trip.
      return new Promise((resolve) => {
        setTimeout(() => {
          const reply = granted(options.ttlMs);
          setTimeout(() => resolve(reply), delay / 2);
        }, delay / 2);
      });
    }
    if (path.endsWith("/extend")) return options.onExtend?.() ?? extended(options.ttlMs);
    return released();
  });
  const client = createClient({ url: "http://fake", token: "t", fetch: service.fetch, onEvent: (e) => events.push(e) });
  return { service, client, events };
}

async function acquired(promise: Promise<unknown>): Promise<Lock> {
  await vi.advanceTimersByTimeAsync(0);
  const lock = (await promise) as Lock;
  if (!lock.ok) throw new Error("not granted");
  return lock;
}

describe("autoExtend", () => {
  it("extends at a third of the TTL, measured from each request's send time", async () => {
    const { service, client } = setup({ ttlMs: 3000 });
    const t0 = performance.now();
    const lock = await acquired(client.acquire({ key: "k", ttlMs: 3000, autoExtend: true }));
    await vi.advanceTimersByTimeAsync(3500);
    const extendTimes = service.calls.filter((c) => c.path.endsWith("/extend")).map((c) => c.at - t0);
    expect(extendTimes).toEqual([1000, 2000, 3000]);
    expect(lock.signal.aborted).toBe(false);
    await lock.release();
  });

  it("keeps the lease proven across a failed extend by retrying before the deadline", async () => {
    let n = 0;
    const { service, client, events } = setup({
      ttlMs: 3000,
      onExtend: () =>
        n++ === 0
          ? { status: 503, body: { ok: false, error: { code: "ServiceUnavailable", message: "x" } } }
          : extended(3000),
    });
    const t0 = performance.now();
    const lock = await acquired(client.acquire({ key: "k", ttlMs: 3000, autoExtend: true }));
    await vi.advanceTimersByTimeAsync(2600);
    const extendTimes = service.calls.filter((c) => c.path.endsWith("/extend")).map((c) => c.at - t0);
    // Deadline 2700 (3000 minus a 10 % margin); after the failure at 1000, retry a third of the way there.
    expect(extendTimes.slice(0, 2)).toEqual([1000, Math.floor(1000 + (2700 - 1000) / 3)]);
    expect(lock.signal.aborted).toBe(false);
    expect(events).toContainEqual({ type: "extend", ok: false, reason: "ServiceUnavailable" });
    await lock.release();
  });
});

describe("the local deadline", () => {
  it("aborts lock.signal at send time + TTL - margin when nothing extends the lease", async () => {
    const { client, events } = setup({ ttlMs: 3000 });
    const lock = await acquired(client.acquire({ key: "k", ttlMs: 3000 }));
    await vi.advanceTimersByTimeAsync(2699);
    expect(lock.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(lock.signal.aborted).toBe(true);
    expect(isLockError(lock.signal.reason, "Aborted")).toBe(true);
    expect(events).toContainEqual({ type: "lost", ok: false, reason: "deadline" });
  });

  it("counts from the SEND time, not the receive time, of a slow grant", async () => {
    // The answer takes 1000 ms; the server granted 500 ms after the send.
    const { client } = setup({ ttlMs: 3000, grantDelayMs: 1000 });
    const t0 = performance.now();
    const pending = client.acquire({ key: "k", ttlMs: 3000 });
    await vi.advanceTimersByTimeAsync(1000);
    const lock = await pending;
    if (!lock.ok) throw new Error("not granted");
    let abortedAt = 0;
    lock.signal.addEventListener("abort", () => {
      abortedAt = performance.now() - t0;
    });
    await vi.advanceTimersByTimeAsync(3000);
    // Server expiry is at 500 + 3000; the proof only covers send (0) + 3000 - 300.
    expect(abortedAt).toBe(2700);
  });

  it("fires while an extend hangs, and gives up on that extend at the deadline", async () => {
    const { service, client, events } = setup({ ttlMs: 3000, onExtend: () => "hang" });
    const t0 = performance.now();
    const lock = await acquired(client.acquire({ key: "k", ttlMs: 3000, autoExtend: true }));
    let abortedAt = 0;
    lock.signal.addEventListener("abort", () => {
      abortedAt = performance.now() - t0;
    });
    await vi.advanceTimersByTimeAsync(5000);
    expect(abortedAt).toBe(2700);
    expect(service.calls.filter((c) => c.path.endsWith("/extend"))).toHaveLength(1);
    expect(events).toContainEqual({ type: "lost", ok: false, reason: "deadline" });
    // Disposal after the loss still tries to release (the server may hold it for the margin).
    await lock[Symbol.asyncDispose]();
    expect(service.calls.at(-1)?.path).toBe("/v1/locks/release");
  });

  it("notices a wake from sleep, when the monotonic clock stood still and the wall clock did not", async () => {
    const { client, events } = setup({ ttlMs: 30_000 });
    const lock = await acquired(client.acquire({ key: "k", ttlMs: 30_000 }));
    await vi.advanceTimersByTimeAsync(1000);
    vi.setSystemTime(Date.now() + 10 * 60_000); // ten minutes asleep: Date moved, performance.now() did not
    await vi.advanceTimersByTimeAsync(1000);
    expect(lock.signal.aborted).toBe(true);
    expect(events).toContainEqual({ type: "lost", ok: false, reason: "deadline" });
  });

  it("honours a custom safety margin", async () => {
    const service = fakeService(() => granted(3000));
    const client = createClient({ url: "http://f", token: "t", fetch: service.fetch, safetyMarginMs: 1500 });
    const lock = await acquired(client.acquire({ key: "k", ttlMs: 3000 }));
    await vi.advanceTimersByTimeAsync(1499);
    expect(lock.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(lock.signal.aborted).toBe(true);
  });
});

describe("loss", () => {
  it("aborts the moment an extend finds the lease gone, and stops extending", async () => {
    const { service, client, events } = setup({ ttlMs: 3000, onExtend: () => notHeld() });
    const t0 = performance.now();
    const lock = await acquired(client.acquire({ key: "k", ttlMs: 3000, autoExtend: true }));
    let abortedAt = 0;
    lock.signal.addEventListener("abort", () => {
      abortedAt = performance.now() - t0;
    });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(abortedAt).toBe(1000);
    expect(service.calls.filter((c) => c.path.endsWith("/extend"))).toHaveLength(1);
    expect(events).toContainEqual({ type: "lost", ok: false, reason: "not-held" });
    // Known lost: release answers at once, without a request.
    expect(await lock.release()).toEqual({ ok: false });
    expect(service.calls.at(-1)?.path).toBe("/v1/locks/extend");
  });

  it("reports raw keys and lockIds in events only when asked", async () => {
    const raw: LockEvent[] = [];
    const service = fakeService(() => granted(3000));
    const client = createClient({
      url: "http://f",
      token: "t",
      fetch: service.fetch,
      includeRaw: true,
      onEvent: (e) => raw.push(e),
    });
    await acquired(client.acquire({ key: "secret-key", ttlMs: 3000 }));
    expect(raw[0]).toMatchObject({ type: "acquire", ok: true, key: "secret-key", lockId: expect.any(String) });

    const { client: plain, events } = setup({ ttlMs: 3000 });
    await acquired(plain.acquire({ key: "secret-key", ttlMs: 3000 }));
    expect(events[0]).toEqual({ type: "acquire", ok: true, fence: "000000000000001" });
  });

  it("survives a throwing onEvent hook", async () => {
    const service = fakeService(() => granted(3000));
    const client = createClient({
      url: "http://f",
      token: "t",
      fetch: service.fetch,
      onEvent: () => {
        throw new Error("telemetry is down");
      },
    });
    const lock = await acquired(client.acquire({ key: "k", ttlMs: 3000, autoExtend: true }));
    await vi.advanceTimersByTimeAsync(5000);
    expect(lock.signal.aborted).toBe(false);
    await lock.release();
  });
});
