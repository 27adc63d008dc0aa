/** The fence counter is durable: idle eviction and the alarm's clean-up never reset it. */

import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { keyIdOf, newToken } from "@holdfast/shared";
import { expect, it } from "vitest";
import { DURABLE_OBJECT_BOUNDS } from "../../src/durable-object/lock-object.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it("continues the fence sequence across evictions and after the alarm clears expired holders", async () => {
  const key = `survive:${newToken()}`;
  const keyId = await keyIdOf("t", key);
  const stub = env.LOCKS.get(env.LOCKS.idFromName(keyId));
  const request = (ttlMs: number) => ({
    tenant: "t",
    key,
    keyId,
    token: newToken(),
    ttlMs,
    mode: "exclusive" as const,
    permits: 1,
    limit: null,
  });
  const stored = () =>
    runInDurableObject(stub, (_, state) => state.storage.kv.get<{ fence: number; holders: unknown[] }>("state"));

  expect(await stub.acquire(request(200), 0, DURABLE_OBJECT_BOUNDS)).toMatchObject({ ok: true, fence: 1 });
  await evictDurableObject(stub);
  // A waiter that gives up quickly leaves an alarm set for the holder's expiry; the
  // alarm fires by itself then and clears the expired holder, keeping the fence.
  expect(await stub.acquire(request(200), 50, DURABLE_OBJECT_BOUNDS)).toMatchObject({ ok: false, reason: "locked" });
  const deadline = Date.now() + 5_000;
  while (((await stored())?.holders.length ?? 0) > 0 && Date.now() < deadline) await sleep(50);
  expect(await stored()).toMatchObject({ fence: 1, holders: [] });
  expect(await runDurableObjectAlarm(stub)).toBe(false); // it already ran

  await evictDurableObject(stub);
  expect(await stub.acquire(request(200), 0, DURABLE_OBJECT_BOUNDS)).toMatchObject({ ok: true, fence: 2 });
  await evictDurableObject(stub);
  expect(await stored()).toMatchObject({ fence: 2 });
  expect(await stub.acquire(request(200), 0, DURABLE_OBJECT_BOUNDS)).toMatchObject({ ok: false, reason: "locked" });
  await sleep(250);
  expect(await stub.acquire(request(200), 0, DURABLE_OBJECT_BOUNDS)).toMatchObject({ ok: true, fence: 3 });
});
