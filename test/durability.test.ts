/**
 * `npm start` says when the store it runs on could lose grants in a crash (hardening item
 * 6): read from a throwaway redis-server's own settings, changed between the checks, and
 * from the local Postgres.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresDurability, redisDurability } from "../local/durability.ts";
import { freePort } from "./support/store-faults.ts";
import { startThrowawayRedis } from "./upstash/throwaway-redis.ts";

const POSTGRES_URL = process.env.POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

describe("durability at start", () => {
  let redis: Awaited<ReturnType<typeof startThrowawayRedis>>;
  let admin: Redis;
  beforeAll(async () => {
    redis = await startThrowawayRedis();
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await redis?.stop();
  });

  it("is quiet about a Redis that flushes its append-only file before every answer", async () => {
    expect(await redisDurability(redis.url)).toEqual([]);
  });

  it("warns about a Redis that flushes once a second, or keeps no append-only file", async () => {
    await admin.config("SET", "appendfsync", "everysec");
    expect(await redisDurability(redis.url)).toEqual([expect.stringMatching(/appendfsync everysec.*re-issue/)]);
    await admin.config("SET", "appendonly", "no");
    expect(await redisDurability(redis.url)).toEqual([expect.stringMatching(/appendonly no.*fences start again/)]);
  });

  it("says so when it cannot read the settings", async () => {
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    expect(await redisDurability(nobody)).toEqual([expect.stringMatching(/could not read/)]);
  });

  it("is quiet about a Postgres that flushes (the lock functions make each writing commit synchronous)", async () => {
    expect(await postgresDurability(POSTGRES_URL)).toEqual([]);
  });
});
