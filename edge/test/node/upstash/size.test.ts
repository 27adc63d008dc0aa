/**
 * Upstash at sizes real keys reach (issue: one key with thousands of holders). Until the
 * scripts wrote holders field by field, a write back of ~4,000 holders ran DEL and then an
 * HSET whose arguments Lua could not unpack: the script failed after the DEL, Redis kept
 * the DEL, and every holder was gone (an exclusive acquire was then granted among live
 * shared leases). The holders are seeded straight into Redis, as the scripts store them.
 */
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockHandle } from "../../../../test/support/store-faults.ts";
import { createContext } from "../../../src/upstash/context.ts";
import { REDIS_URL, upstashFixture } from "./fixture.ts";

/** Past Lua's unpack limit (~8,000 values: two per holder). */
const SEEDED = 4_100;

let redis: IORedis;
beforeAll(() => {
  redis = new IORedis(REDIS_URL);
});
afterAll(() => {
  redis.disconnect();
});

async function redisNowMs(): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** A key with SEEDED live shared holders (an unlimited read lock), fences 1..SEEDED. */
async function seededKey(fixture: Awaited<ReturnType<typeof upstashFixture>>, label: string) {
  const h = await lockHandle(label);
  const [record, holders] = createContext({ url: fixture.standin.url, token: "-", prefix: fixture.prefix }).keysOf(
    h.keyId,
  ).all as [string, string];
  const now = await redisNowMs();
  const expiresAtMs = now + 180_000;
  const fields: string[] = [];
  for (let fence = 1; fence <= SEEDED; fence++) fields.push(`seed${fence}`, `s|1|${fence}|${now}|${expiresAtMs}|`);
  await redis.hset(record, "tenant", "t", "key", h.key, "fence", String(SEEDED));
  await redis.hset(holders, ...fields);
  await redis.pexpireat(holders, expiresAtMs);
  return { h, holders };
}

describe("Upstash with thousands of holders on one key", () => {
  it("adds a holder to 4,100 without losing one, and an exclusive acquire stays locked", async () => {
    const fixture = await upstashFixture({ bounds: { holders: 10_000 } });
    try {
      const { h, holders } = await seededKey(fixture, "many-holders");
      const grant = await fixture.backend.acquire(h.request({ mode: "shared", limit: null }));
      expect(grant).toMatchObject({ ok: true, fence: SEEDED + 1 });
      expect(await redis.hlen(holders)).toBe(SEEDED + 1);
      expect((await fixture.backend.lookup(h.lookupRef)).holders).toHaveLength(SEEDED + 1);
      expect(await fixture.backend.acquire(h.request())).toMatchObject({ ok: false, reason: "locked" });
      if (grant.ok) await fixture.backend.release(h.ref(grant.token));
      expect(await redis.hlen(holders)).toBe(SEEDED);
    } finally {
      await fixture.close();
    }
  });

  it("refuses a holder past the default bound and keeps every one it has", async () => {
    const fixture = await upstashFixture();
    try {
      const { h, holders } = await seededKey(fixture, "over-bound");
      const refused = await fixture.backend.acquire(h.request({ mode: "shared", limit: null }));
      expect(refused).toMatchObject({ ok: false, reason: "capacity", bound: "holders" });
      expect(await redis.hlen(holders)).toBe(SEEDED);
      expect((await fixture.backend.lookup(h.lookupRef)).fence).toBe(SEEDED);
    } finally {
      await fixture.close();
    }
  });
});
