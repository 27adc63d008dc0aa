/**
 * The Redis side of the Upstash backend, checked in Redis itself: pinned script SHAs,
 * one hash tag per lock, fences that neither round nor expire, holder keys that expire
 * exactly with their last holder, hostile keys, and dead waiters that drop out.
 */
import { newToken } from "@holdfast/shared";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockHandle } from "../../../../test/support/store-faults.ts";
import { ACQUIRE, runAcquire } from "../../../src/upstash/acquire.ts";
import { createContext } from "../../../src/upstash/context.ts";
import { EXTEND } from "../../../src/upstash/extend.ts";
import { LOOKUP } from "../../../src/upstash/lookup.ts";
import { OWNS } from "../../../src/upstash/owns.ts";
import { RELEASE } from "../../../src/upstash/release.ts";
import { CHECK } from "../../../src/upstash/wait.ts";
import { REDIS_URL, upstashFixture } from "./fixture.ts";

let fixture: Awaited<ReturnType<typeof upstashFixture>>;
let redis: IORedis;
beforeAll(async () => {
  fixture = await upstashFixture();
  redis = new IORedis(REDIS_URL);
});
afterAll(async () => {
  await fixture.close();
  redis.disconnect();
});

async function handle(label: string, key?: string) {
  const handle = await lockHandle(label, { ttlMs: 10_000, ...(key === undefined ? {} : { key }) });
  const keys = createContext({ url: fixture.standin.url, token: "-", prefix: fixture.prefix }).keysOf(handle.keyId);
  return { ...handle, keys };
}

describe("Upstash scripts in Redis", () => {
  it.each([ACQUIRE, RELEASE, EXTEND, OWNS, LOOKUP, CHECK])("pins the SHA1 of the $name script", async (script) => {
    expect(await redis.script("LOAD", script.source)).toBe(script.sha);
  });

  it("keeps every key of one lock in one cluster slot", async () => {
    const h = await handle("slot");
    const tags = [...h.keys.all, h.keys.replyKey(newToken())].map((key) => key.match(/\{([^}]*)\}/)?.[1]);
    expect(new Set(tags)).toEqual(new Set([h.keyId]));
  });

  it("issues 15-digit fences exactly (no rounding through Lua numbers) and never expires the counter", async () => {
    const h = await handle("fence");
    const first = await fixture.backend.acquire(h.request());
    expect(first).toMatchObject({ ok: true, fence: 1 });
    const record = h.keys.all[0] as string;
    await redis.hset(record, "fence", "999999999999990");
    if (first.ok) await fixture.backend.release({ tenant: "t", keyId: h.keyId, token: first.token });
    const next = await fixture.backend.acquire(h.request());
    expect(next).toMatchObject({ ok: true, fence: 999_999_999_999_991 });
    expect((await fixture.backend.lookup({ tenant: "t", key: h.key, keyId: h.keyId })).fence).toBe(999_999_999_999_991);
    if (next.ok) {
      const owns = await fixture.backend.owns({ tenant: "t", keyId: h.keyId, token: next.token });
      expect(owns).toMatchObject({ owned: true, holder: { fence: 999_999_999_999_991 } });
    }
    expect(await redis.pttl(record)).toBe(-1);
  });

  it("expires the holders' key exactly when the last holder expires, never before", async () => {
    const h = await handle("expiry");
    const short = await fixture.backend.acquire(h.request({ mode: "shared", ttlMs: 2_000 }));
    const long = await fixture.backend.acquire(h.request({ mode: "shared", ttlMs: 6_000 }));
    if (!short.ok || !long.ok) throw new Error("not granted");
    const holders = h.keys.all[1] as string;
    expect(Number(await redis.call("PEXPIRETIME", holders))).toBe(long.expiresAtMs);
    await fixture.backend.release({ tenant: "t", keyId: h.keyId, token: long.token });
    expect(Number(await redis.call("PEXPIRETIME", holders))).toBe(short.expiresAtMs);
    await fixture.backend.release({ tenant: "t", keyId: h.keyId, token: short.token });
    expect(await redis.exists(holders)).toBe(0);
    expect(await redis.hget(h.keys.all[0] as string, "fence")).toBe("2");
  });

  it("treats keys and idempotency keys full of separators as plain data", async () => {
    const h = await handle("hostile", `{x}|y z\n'; DROP TABLE t; --|#limit|g|1|2`);
    const grant = await fixture.backend.acquire(h.request({ idempotencyKey: "a|b|c=d" }));
    expect(grant).toMatchObject({ ok: true, fence: 1 });
    const again = await fixture.backend.acquire(h.request({ idempotencyKey: "a|b|c=d" }));
    if (!grant.ok) return;
    expect(again).toMatchObject({ token: grant.token, fence: 1, expiresAtMs: grant.expiresAtMs });
    expect(await fixture.backend.owns({ tenant: "t", keyId: h.keyId, token: grant.token })).toMatchObject({
      owned: true,
      key: h.key,
    });
    const view = await fixture.backend.lookup({ tenant: "t", key: h.key, keyId: h.keyId });
    expect(view).toMatchObject({ fence: 1, limit: null, holders: [{ token: grant.token }] });
  });

  it("answers a waiter that comes late for a grant the queue posted as of now: an expired one is no grant", async () => {
    const h = await handle("late-waiter");
    const holder = await fixture.backend.acquire(h.request());
    if (!holder.ok) throw new Error("not granted");
    const ctx = createContext({ url: fixture.standin.url, token: fixture.standin.token, prefix: fixture.prefix });
    const fresh = h.request({ ttlMs: 5_000 });
    const brief = h.request({ ttlMs: 200 });
    expect(await runAcquire(ctx, fresh, 10_000)).toMatchObject({ queued: true });
    await fixture.backend.release({ tenant: "t", keyId: h.keyId, token: holder.token }); // posted to `fresh`
    await new Promise((resolve) => setTimeout(resolve, 50));
    const late = await runAcquire(ctx, fresh, 10_000); // the re-sent queue request finds its outcome
    if (late.queued || !late.result.ok) throw new Error("expected the posted grant");
    expect(late.result.serverTimeMs).toBeGreaterThanOrEqual(Date.now() - 1_000);
    expect(late.result.serverTimeMs - late.result.acquiredAtMs).toBeGreaterThanOrEqual(40);
    await fixture.backend.release({ tenant: "t", keyId: h.keyId, token: fresh.token });

    const again = await fixture.backend.acquire(h.request());
    if (!again.ok) throw new Error("not granted");
    expect(await runAcquire(ctx, brief, 10_000)).toMatchObject({ queued: true });
    await fixture.backend.release({ tenant: "t", keyId: h.keyId, token: again.token }); // posted to `brief`
    await new Promise((resolve) => setTimeout(resolve, 300)); // its 200 ms lease ran out unheard
    expect(await runAcquire(ctx, brief, 10_000)).toMatchObject({
      queued: false,
      result: { ok: false, reason: "locked" },
    });
  });

  it("drops a waiter whose Worker died once its entry's deadline passes, and never grants it", async () => {
    const h = await handle("dead-waiter");
    const holder = await fixture.backend.acquire(h.request());
    if (!holder.ok) throw new Error("not granted");
    const ctx = createContext({ url: fixture.standin.url, token: fixture.standin.token, prefix: fixture.prefix });
    const orphan = h.request();
    // Queued, then nobody waits for the answer: as if the Worker had died.
    expect(await runAcquire(ctx, orphan, 300)).toMatchObject({ queued: true });
    expect(await fixture.backend.acquire(h.request())).toMatchObject({ ok: false, reason: "locked" });
    await new Promise((resolve) => setTimeout(resolve, 400));
    await fixture.backend.release({ tenant: "t", keyId: h.keyId, token: holder.token });
    const view = await fixture.backend.lookup({ tenant: "t", key: h.key, keyId: h.keyId });
    expect(view.holders).toEqual([]);
    expect(await fixture.backend.acquire(h.request())).toMatchObject({ ok: true, fence: 2 });
    expect(await redis.exists(h.keys.all[2] as string)).toBe(0);
  });

  it("joins a retry to a waiter queued by the scripts of an earlier release (no index), one grant for both", async () => {
    const h = await handle("unindexed-waiter");
    const holder = await fixture.backend.acquire(h.request());
    if (!holder.ok) throw new Error("not granted");
    const [record, , queue, waiters, callers, , , index] = h.keys.all as [string, ...string[]];
    // As the earlier scripts queued a request: a member, a record and a caller, no index entry.
    const original = newToken();
    const [seconds] = await redis.time();
    const member = `${"1".padStart(15, "0")}:${original}`;
    await redis.hset(record, "qseq", "1");
    await redis.zadd(queue as string, 0, member);
    await redis.hset(waiters as string, original, `x|1|-1|10000|0|${member}|old-idem`);
    await redis.hset(callers as string, original, `${original}|${Number(seconds) * 1000 + 60_000}`);
    expect(await redis.exists(index as string)).toBe(0);

    let queued = () => {};
    const inQueue = new Promise<void>((resolve) => {
      queued = resolve;
    });
    const retry = fixture.backend.acquireQueued?.(h.request({ idempotencyKey: "old-idem" }), {
      waitMs: 20_000,
      signal: new AbortController().signal,
      onQueued: queued,
    });
    await inQueue;
    expect(await redis.zcard(queue as string)).toBe(1);
    await fixture.backend.release({ tenant: "t", keyId: h.keyId, token: holder.token });
    expect(await retry).toMatchObject({ ok: true, token: original, fence: 2 });
    expect((await fixture.backend.lookup({ tenant: "t", key: h.key, keyId: h.keyId })).holders).toHaveLength(1);
  });
});
