/**
 * SPEC §5 items 4 and 5 on the Upstash backend: a lost response followed by the client's
 * automatic re-send never grants twice nor reports a false "not held"; Redis killed,
 * paused or restarted (a throwaway redis-server with an fsynced append-only file) gives
 * ServiceUnavailable / NetworkTimeout and then the same state and fences; SCRIPT FLUSH
 * in the middle of contention changes nothing.
 */
import { runContention } from "@holdfast/shared/contract";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, lockHandle } from "../../../../test/support/store-faults.ts";
import { ACQUIRE } from "../../../src/upstash/acquire.ts";
import { RELEASE } from "../../../src/upstash/release.ts";
import { REDIS_URL, upstashFixture } from "./fixture.ts";
import { startThrowawayRedis } from "./throwaway-redis.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const lock = (label: string) => lockHandle(label);

const sends = (sha: string) => (commands: unknown[][]) =>
  commands.some((command) => String(command[0]).toLowerCase() === "evalsha" && command[1] === sha);

describe("lost responses, re-sent by the client", () => {
  let fixture: Awaited<ReturnType<typeof upstashFixture>>;
  beforeAll(async () => {
    fixture = await upstashFixture();
  });
  afterAll(() => fixture.close());

  it("returns the grant an applied acquire made, and makes no second one", async () => {
    const k = await lock("lost-acquire");
    fixture.standin.dropNextResponse(sends(ACQUIRE.sha));
    fixture.standin.resetStats();
    const grant = await fixture.backend.acquire(k.request());
    expect(grant).toMatchObject({ ok: true, fence: 1 });
    expect(fixture.standin.stats().byCommand.EVALSHA).toBe(2); // applied, response lost, re-sent
    const view = await fixture.backend.lookup(k.lookupRef);
    expect(view).toMatchObject({ fence: 1, holders: [{ fence: 1 }] });
    expect(await fixture.backend.acquire(k.request())).toMatchObject({ ok: false, reason: "locked" });
  });

  it("keeps one place in the queue for a re-sent wait, and serves it once", async () => {
    const k = await lock("lost-wait");
    const holder = await fixture.backend.acquire(k.request());
    if (!holder.ok) throw new Error("not granted");
    fixture.standin.dropNextResponse(sends(ACQUIRE.sha));
    fixture.standin.resetStats();
    const waiter = fixture.backend.acquireQueued?.(k.request(), {
      waitMs: 10_000,
      signal: new AbortController().signal,
    });
    await sleep(300);
    expect(fixture.standin.stats().byCommand.EVALSHA).toBe(3); // queued, re-sent, then the check
    await fixture.backend.release(k.ref(holder.token));
    expect(await waiter).toMatchObject({ ok: true, fence: 2 });
    expect((await fixture.backend.lookup(k.lookupRef)).holders).toHaveLength(1);
  });

  it("answers released to a re-sent release that was applied, and not held to a new one", async () => {
    const k = await lock("lost-release");
    const grant = await fixture.backend.acquire(k.request());
    if (!grant.ok) throw new Error("not granted");
    fixture.standin.dropNextResponse(sends(RELEASE.sha));
    fixture.standin.resetStats();
    expect(await fixture.backend.release(k.ref(grant.token))).toMatchObject({ ok: true });
    expect(fixture.standin.stats().byCommand.EVALSHA).toBe(2); // applied, response lost, re-sent
    expect(await fixture.backend.release(k.ref(grant.token))).toMatchObject({ ok: false });
    expect((await fixture.backend.lookup(k.lookupRef)).holders).toEqual([]);
  });
});

describe("lost pushes", () => {
  let fixture: Awaited<ReturnType<typeof upstashFixture>>;
  let admin: IORedis;
  beforeAll(async () => {
    fixture = await upstashFixture();
    admin = new IORedis(REDIS_URL);
  });
  afterAll(async () => {
    await fixture.close();
    admin.disconnect();
  });

  /** A waiter behind a 6 s lease that is released after 300 ms: it must not wait for the expiry. */
  async function handoffAfter(breakStream: (waiterToken: string) => Promise<void>, releaseAfterMs = 300) {
    const k = await lock("lost-push");
    const holder = await fixture.backend.acquire(k.request({ ttlMs: 6_000 }));
    if (!holder.ok) throw new Error("not granted");
    const request = k.request({ ttlMs: 2_000 });
    const started = Date.now();
    const waiter = fixture.backend.acquireQueued?.(request, { waitMs: 10_000, signal: new AbortController().signal });
    await breakStream(request.token);
    await sleep(releaseAfterMs);
    await fixture.backend.release(k.ref(holder.token));
    const grant = await waiter;
    return { grant, elapsedMs: Date.now() - started };
  }

  it("serves a waiter whose stream died just after it subscribed, at the release", async () => {
    const { grant, elapsedMs } = await handoffAfter(async (token) => {
      fixture.standin.dropNextResponse((commands) => String(commands[0]?.[1]).endsWith(token));
    });
    expect(grant).toMatchObject({ ok: true, fence: 2 });
    if (grant?.ok) expect(grant.expiresAtMs).toBeGreaterThan(grant.serverTimeMs);
    expect(elapsedMs).toBeLessThan(3_000);
  });

  it("serves a waiter whose subscription the stand-in lost (its Redis connection dropped)", async () => {
    const { grant, elapsedMs } = await handoffAfter(async () => {
      await sleep(150);
      const port = new URL(fixture.standin.url).port;
      const clients = String(await admin.call("CLIENT", "LIST"))
        .split("\n")
        .filter((line) => line.includes(` name=upstash-standin:${port}:subscriber `));
      for (const line of clients) await admin.call("CLIENT", "KILL", "ID", line.match(/id=(\d+)/)?.[1] ?? "");
    }, 0); // released before the stand-in has reconnected: that push is lost
    expect(grant).toMatchObject({ ok: true, fence: 2 });
    expect(elapsedMs).toBeLessThan(3_000);
  });
});

describe("Redis killed, paused and restarted", () => {
  let redis: Awaited<ReturnType<typeof startThrowawayRedis>>;
  let fixture: Awaited<ReturnType<typeof upstashFixture>>;
  beforeAll(async () => {
    redis = await startThrowawayRedis();
    fixture = await upstashFixture({ redisUrl: redis.url, timeoutMs: 1_500 });
  }, 30_000);
  afterAll(async () => {
    await fixture?.close();
    await redis?.stop();
  });

  async function untilRedisAnswers(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      try {
        await fixture.backend.time();
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error("the stand-in did not reconnect to Redis");
  }

  it("answers ServiceUnavailable while Redis is down, then finds every grant and fence again", async () => {
    const held = await lock("held");
    const counted = await lock("counted");
    const grant = await fixture.backend.acquire(held.request());
    const once = await fixture.backend.acquire(counted.request());
    if (!grant.ok || !once.ok) throw new Error("not granted");
    await fixture.backend.release(counted.ref(once.token));
    // Its stream survives the outage; leaving the queue at its deadline cannot reach Redis.
    const waiter = fixture.backend.acquireQueued?.(held.request(), {
      waitMs: 3_000,
      signal: new AbortController().signal,
    });
    await sleep(200);

    await redis.kill();
    expect(await codeOf(fixture.backend.acquire(counted.request()))).toBe("ServiceUnavailable");
    expect(await codeOf(fixture.backend.release(held.ref(grant.token)))).toBe("ServiceUnavailable");
    expect(await codeOf(fixture.backend.owns(held.ref(grant.token)))).toBe("ServiceUnavailable");
    expect(await codeOf(waiter ?? Promise.resolve())).toBe("ServiceUnavailable");

    await redis.start();
    await untilRedisAnswers();
    expect(await fixture.backend.owns(held.ref(grant.token))).toMatchObject({ owned: true, holder: { fence: 1 } });
    expect(await fixture.backend.acquire(held.request())).toMatchObject({ ok: false, reason: "locked" });
    expect(await fixture.backend.acquire(counted.request())).toMatchObject({ ok: true, fence: 2 });
    expect(await fixture.backend.release(held.ref(grant.token))).toMatchObject({ ok: true });
  }, 60_000);

  it("answers NetworkTimeout while Redis is paused, and stays consistent once it resumes", async () => {
    const k = await lock("paused");
    const grant = await fixture.backend.acquire(k.request({ ttlMs: 5_000 }));
    if (!grant.ok) throw new Error("not granted");
    redis.signal("SIGSTOP");
    try {
      expect(await codeOf(fixture.backend.acquire(k.request()))).toBe("NetworkTimeout");
      expect(await codeOf(fixture.backend.release(k.ref(grant.token)))).toBe("NetworkTimeout");
    } finally {
      redis.signal("SIGCONT");
    }
    await untilRedisAnswers();
    // The paused commands ran when Redis resumed: a timeout promised nothing either way.
    const view = await fixture.backend.lookup(k.lookupRef);
    expect(view.holders.length).toBeLessThanOrEqual(1);
    const report = await runContention(fixture.backend, { workers: 8, keys: 1, grantsPerWorker: 4, holdMs: 1 });
    expect(report).toMatchObject({ grants: 32, clientOverlaps: 0, storeOverlaps: 0, fenceViolations: 0 });
  }, 60_000);
});

describe("SCRIPT FLUSH in the middle of contention", () => {
  // Its own Redis: a flush of the shared one would turn other suites' re-sends into NOSCRIPTs.
  let redis: Awaited<ReturnType<typeof startThrowawayRedis>>;
  let fixture: Awaited<ReturnType<typeof upstashFixture>>;
  let admin: IORedis;
  beforeAll(async () => {
    redis = await startThrowawayRedis();
    fixture = await upstashFixture({ redisUrl: redis.url });
    admin = new IORedis(redis.url);
  }, 30_000);
  afterAll(async () => {
    await fixture?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  it("falls back from EVALSHA to EVAL and stays correct", async () => {
    let flushing = true;
    const flusher = (async () => {
      while (flushing) {
        await admin.script("FLUSH");
        await sleep(15);
      }
    })();
    fixture.standin.resetStats();
    const report = await runContention(fixture.backend, {
      workers: 16,
      keys: 2,
      grantsPerWorker: 6,
      holdMs: 2,
      waitMs: 10_000,
    });
    flushing = false;
    await flusher;
    expect(report).toMatchObject({
      grants: 96,
      clientOverlaps: 0,
      storeOverlaps: 0,
      fenceViolations: 0,
      lostReleases: 0,
    });
    expect(fixture.standin.stats().byCommand.EVAL).toBeGreaterThan(0);
  }, 60_000);
});
