/** The NTP-style offset estimate and the client-time tolerance check, on fake clocks. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createClockTracker } from "../src/clock.ts";
import { createClient, isLockError, type LockEvent } from "../src/index.ts";
import { fakeService, granted, type Reply } from "./support/fake-service.ts";

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("offset estimate", () => {
  it("takes the midpoint of the round trip and bounds the error by half the RTT", () => {
    const clock = createClockTracker();
    expect(clock.estimate()).toBeUndefined();
    expect(clock.toLocal(5000)).toBe(5000);
    const sentAt = performance.now();
    vi.advanceTimersByTime(100); // RTT 100; the server read 2_000_000 + 0 at our midpoint 1_000_050
    clock.sample(2_000_050, sentAt);
    expect(clock.estimate()).toEqual({ offsetMs: 1_000_000, rttMs: 100, maxOffsetMs: 1_000_050 });
    expect(clock.toLocal(2_000_150)).toBe(1_000_150);
  });

  it("keeps the lowest-RTT sample of the recent ones", () => {
    const clock = createClockTracker();
    const sampleWith = (rttMs: number, offsetMs: number) => {
      const sentAt = performance.now();
      vi.advanceTimersByTime(rttMs);
      clock.sample(Date.now() - rttMs / 2 + offsetMs, sentAt);
    };
    sampleWith(400, 300); // a slow answer gives a poor estimate
    sampleWith(20, 10);
    sampleWith(200, -150);
    expect(clock.estimate()).toEqual({ offsetMs: 10, rttMs: 20, maxOffsetMs: 20 });
    // Old samples age out of the window of 8.
    for (let i = 0; i < 8; i++) sampleWith(50, 5);
    expect(clock.estimate()).toEqual({ offsetMs: 5, rttMs: 50, maxOffsetMs: 30 });
  });
});

/** A service whose clock runs `skewMs` ahead of ours, answering after `rttMs`. */
function skewedService(skewMs: number, rttMs = 10) {
  return fakeService((path) =>
    new Promise<Reply>((resolve) =>
      setTimeout(() => {
        const serverNow = Date.now() + skewMs;
        resolve(path === "/v1/time" ? { status: 200, body: { serverTimeMs: serverNow } } : granted(30_000, serverNow));
        // The server reads its clock halfway; the answer takes the other half.
      }, rttMs / 2),
    ).then((reply) => new Promise<Reply>((resolve) => setTimeout(() => resolve(reply), rttMs / 2))),
  );
}

describe("times in the caller's clock", () => {
  it("reports expiresAtMs in the caller's clock when the server's runs ahead", async () => {
    const service = skewedService(60_000);
    const client = createClient({ url: "http://f", token: "t", fetch: service.fetch });
    const pending = client.acquire({ key: "k", ttlMs: 30_000 });
    await vi.advanceTimersByTimeAsync(10);
    const lock = await pending;
    if (!lock.ok) throw new Error("not granted");
    // Server expiry = server now + 30 s; in our clock that is about our now + 30 s, not + 90 s.
    expect(Math.abs(lock.expiresAtMs - (Date.now() + 30_000))).toBeLessThanOrEqual(10);
    expect(client.clock()?.offsetMs).toBeCloseTo(60_000, -1);
  });
});

describe("client-time deployments", () => {
  it("refuses to acquire when the offset bound exceeds the tolerance and onClockSkew is 'throw'", async () => {
    const service = skewedService(5000);
    const events: LockEvent[] = [];
    const client = createClient({
      url: "http://f",
      token: "t",
      fetch: service.fetch,
      timeAuthority: "client",
      onClockSkew: "throw",
      onEvent: (e) => events.push(e),
    });
    const pending = client.acquire({ key: "k" }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(20);
    const error = await pending;
    expect(isLockError(error, "ServiceUnavailable")).toBe(true);
    expect((error as Error).message).toMatch(/clock offset/);
    // It sampled the clock (twice: the first sample may pay for the connection) and never sent the acquire.
    expect(service.calls.map((c) => c.path)).toEqual(["/v1/time", "/v1/time"]);
    expect(events[0]).toMatchObject({ type: "clock-skew", ok: false, clock: { offsetMs: 5000 } });
  });

  it("warns once per excursion and acquires when onClockSkew is 'warn' (the default)", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const service = skewedService(5000);
    const client = createClient({ url: "http://f", token: "t", fetch: service.fetch, timeAuthority: "client" });
    for (let i = 0; i < 2; i++) {
      const pending = client.acquire({ key: `k${i}` });
      await vi.advanceTimersByTimeAsync(100);
      expect((await pending).ok).toBe(true);
    }
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/exceeds the 1000 ms tolerance/);
  });

  it("stays quiet within the tolerance, and ignores the offset for server-time deployments", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const near = createClient({
      url: "http://f",
      token: "t",
      fetch: skewedService(300).fetch,
      timeAuthority: "client",
      onClockSkew: "throw",
    });
    const server = createClient({
      url: "http://f",
      token: "t",
      fetch: skewedService(5000).fetch,
      onClockSkew: "throw",
    });
    const results = [near.acquire({ key: "a" }), server.acquire({ key: "b" })];
    await vi.advanceTimersByTimeAsync(100);
    expect((await Promise.all(results)).map((r) => r.ok)).toEqual([true, true]);
    expect(warn).not.toHaveBeenCalled();
  });

  it("counts the round trip into the bound: a slow sample can exceed the tolerance on its own", async () => {
    const client = createClient({
      url: "http://f",
      token: "t",
      fetch: skewedService(0, 3000).fetch,
      timeAuthority: "client",
      onClockSkew: "throw",
    });
    const pending = client.acquire({ key: "k" }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(6000);
    expect(isLockError(await pending, "ServiceUnavailable")).toBe(true);
    expect(client.clock()).toMatchObject({ rttMs: 3000, maxOffsetMs: 1500 });
  });
});

describe("which answers are clock samples", () => {
  it("never samples an error envelope: its time is the server's own clock, not always the store's", async () => {
    const answers = [
      Response.json(
        { ok: false, error: { code: "InvalidArgument", message: "bad" }, serverTimeMs: Date.now() + 3_600_000 },
        { status: 400 },
      ),
      Response.json({ serverTimeMs: Date.now() + 25 }),
    ];
    const client = createClient({
      url: "http://holdfast.test",
      token: "t",
      fetch: async () => answers.shift() as Response,
    });
    await expect(client.owns({ lockId: "x".repeat(45) })).rejects.toMatchObject({ code: "InvalidArgument" });
    expect(client.clock()).toBeUndefined();
    const estimate = await client.syncClock();
    expect(Math.abs(estimate.offsetMs - 25)).toBeLessThan(50);
  });
});
