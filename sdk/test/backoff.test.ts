/** Backoff, jitter, maxRetries and timeoutMs, on fake clocks with a scripted service. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createClient, createLock, isLockError, RETRY_DEFAULTS, retryDelay } from "../src/index.ts";
import { fakeService, granted, locked } from "./support/fake-service.ts";

describe("retryDelay", () => {
  it("uses the library world's defaults: 100 ms, exponential, equal jitter, 10 retries", () => {
    expect(RETRY_DEFAULTS).toEqual({ maxRetries: 10, retryDelayMs: 100, backoff: "exponential", jitter: "equal" });
    expect([1, 2, 3, 4].map((retry) => retryDelay(retry, {}, () => 0))).toEqual([50, 100, 200, 400]);
    expect([1, 2, 3, 4].map((retry) => retryDelay(retry, {}, () => 1))).toEqual([100, 200, 400, 800]);
  });

  it("supports fixed backoff and full or no jitter", () => {
    expect(retryDelay(5, { backoff: "fixed", jitter: "none", retryDelayMs: 70 })).toBe(70);
    expect(retryDelay(3, { jitter: "none" })).toBe(400);
    expect(retryDelay(3, { jitter: "full" }, () => 0.25)).toBe(100);
    expect(retryDelay(3, { jitter: "full" }, () => 0)).toBe(0);
  });
});

describe("acquisition loop on a fake clock", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  /** A service without server-side waiting: every acquire is answered "locked" at once. */
  const alwaysLocked = () => fakeService(() => locked());
  const attemptTimes = (service: ReturnType<typeof fakeService>, t0: number) => service.calls.map((c) => c.at - t0);

  it("paces attempts by exponential backoff and stops after maxRetries", async () => {
    const service = alwaysLocked();
    const client = createClient({ url: "http://fake", token: "t", fetch: service.fetch });
    const t0 = performance.now();
    const outcome = createLock(client)(async () => "ran", {
      key: "k",
      acquisition: { maxRetries: 3, jitter: "none", timeoutMs: 60_000 },
    }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(60_000);
    const error = await outcome;
    expect(isLockError(error, "AcquisitionTimeout")).toBe(true);
    expect(attemptTimes(service, t0)).toEqual([0, 100, 300, 700]);
  });

  it("stops at timeoutMs, with a last attempt at the deadline", async () => {
    const service = alwaysLocked();
    const client = createClient({ url: "http://fake", token: "t", fetch: service.fetch });
    const t0 = performance.now();
    const outcome = createLock(client)(async () => "ran", {
      key: "k",
      acquisition: { timeoutMs: 1000, jitter: "none" },
    }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(isLockError(await outcome, "AcquisitionTimeout")).toBe(true);
    expect(attemptTimes(service, t0)).toEqual([0, 100, 300, 700, 1000]);
    // Each attempt asks the server to wait for what is left of the budget.
    expect(service.calls.map((c) => c.body.waitMs)).toEqual([1000, 900, 700, 300, 0]);
  });

  it("with the defaults, jitters equally and gives up at 5 s", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const service = alwaysLocked();
    const client = createClient({ url: "http://fake", token: "t", fetch: service.fetch });
    const t0 = performance.now();
    const outcome = createLock(client)(async () => "ran", { key: "k" }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(isLockError(await outcome, "AcquisitionTimeout")).toBe(true);
    expect(attemptTimes(service, t0)).toEqual([0, 50, 150, 350, 750, 1550, 3150, 5000]);
  });

  it("fixed backoff with full jitter stays within the base delay", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const service = alwaysLocked();
    const client = createClient({ url: "http://fake", token: "t", fetch: service.fetch });
    const t0 = performance.now();
    const result = client.acquire({ key: "k", waitMs: 200, retry: { backoff: "fixed", jitter: "full" } });
    await vi.advanceTimersByTimeAsync(1000);
    expect(await result).toMatchObject({ ok: false, reason: "locked" });
    expect(attemptTimes(service, t0)).toEqual([0, 50, 100, 150, 200]);
  });

  it("re-issues at once after a server-side wait instead of sleeping again", async () => {
    let n = 0;
    // A server whose wait cap is 1 s: holds each request for 1 s, then grants on the third.
    const service = fakeService(
      (_path, body) =>
        new Promise((resolve) =>
          setTimeout(() => resolve(++n < 3 ? locked() : granted(30_000)), Math.min(1000, Number(body.waitMs))),
        ),
    );
    const client = createClient({ url: "http://fake", token: "t", fetch: service.fetch });
    const t0 = performance.now();
    const result = client.acquire({ key: "k", waitMs: 10_000, retry: { jitter: "none" } });
    await vi.advanceTimersByTimeAsync(3000);
    const lock = await result;
    expect(lock.ok).toBe(true);
    expect(attemptTimes(service, t0)).toEqual([0, 1000, 2000]);
    expect(service.calls.map((c) => c.body.waitMs)).toEqual([10_000, 9000, 8000]);
  });

  it("counts transient failures per attempt: 503s between 'locked' answers do not end a long wait", async () => {
    const unavailable = {
      status: 503,
      body: { ok: false, error: { code: "ServiceUnavailable", message: "store restarting" } },
    };
    const script = [unavailable, locked(), unavailable, locked(), unavailable, locked(), unavailable];
    const service = fakeService(() => script.shift() ?? granted(30_000));
    const client = createClient({ url: "http://fake", token: "t", fetch: service.fetch });
    const result = client.acquire({ key: "k", waitMs: 60_000 });
    await vi.advanceTimersByTimeAsync(20_000);
    expect((await result).ok).toBe(true);
    expect(service.calls).toHaveLength(8);
  });

  it("honours Retry-After on 429", async () => {
    let n = 0;
    const service = fakeService(() =>
      n++ === 0
        ? {
            status: 429,
            body: { ok: false, error: { code: "RateLimited", message: "slow down" } },
            headers: { "retry-after": "2" },
          }
        : granted(30_000),
    );
    const client = createClient({ url: "http://fake", token: "t", fetch: service.fetch });
    const t0 = performance.now();
    const result = client.acquire({ key: "k", waitMs: 5000 });
    await vi.advanceTimersByTimeAsync(5000);
    expect((await result).ok).toBe(true);
    expect(attemptTimes(service, t0)).toEqual([0, 2000]);
  });

  it("aborts a request that gets no answer within timeoutMs, then retries it with the same idempotency key", async () => {
    let n = 0;
    const service = fakeService(() => (n++ === 0 ? "hang" : granted(30_000)));
    const client = createClient({ url: "http://fake", token: "t", fetch: service.fetch, timeoutMs: 1000 });
    const t0 = performance.now();
    const result = client.acquire({ key: "k", retry: { jitter: "none" } });
    await vi.advanceTimersByTimeAsync(5000);
    expect((await result).ok).toBe(true);
    expect(attemptTimes(service, t0)).toEqual([0, 1100]);
    expect(service.calls[1]?.body.idempotencyKey).toBe(service.calls[0]?.body.idempotencyKey);
  });

  it("gives up on an unanswered service after two retries with NetworkTimeout", async () => {
    const service = fakeService(() => "hang");
    const client = createClient({ url: "http://fake", token: "t", fetch: service.fetch, timeoutMs: 1000 });
    const result = client.acquire({ key: "k", retry: { jitter: "none" } }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(isLockError(await result, "NetworkTimeout")).toBe(true);
    expect(service.calls).toHaveLength(3);
  });
});
