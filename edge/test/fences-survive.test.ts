/** The fence counter is durable: idle eviction and clean-up never reset it. */

import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { keyIdOf, newToken } from "@holdfast/shared";
import { expect, it } from "vitest";

it("continues the fence sequence after the object is evicted and its holders expire", async () => {
  const key = `survive:${newToken()}`;
  const keyId = await keyIdOf("t", key);
  const stub = env.LOCKS.get(env.LOCKS.idFromName(keyId));
  const request = () => ({
    tenant: "t",
    key,
    keyId,
    token: newToken(),
    ttlMs: 100,
    mode: "exclusive" as const,
    permits: 1,
    limit: null,
  });

  const first = await stub.acquire(request(), 0);
  expect(first).toMatchObject({ ok: true, fence: 1 });
  await evictDurableObject(stub);
  await new Promise((resolve) => setTimeout(resolve, 150));
  // A waiter schedules an alarm; running it clears the expired holder from storage.
  const second = await stub.acquire(request(), 0);
  expect(second).toMatchObject({ ok: true, fence: 2 });
  await new Promise((resolve) => setTimeout(resolve, 150));
  await runDurableObjectAlarm(stub);
  const stored = await runInDurableObject(stub, (_, state) => state.storage.kv.get<{ fence: number }>("state"));
  expect(stored?.fence).toBe(2);
  await evictDurableObject(stub);
  expect(await stub.acquire(request(), 0)).toMatchObject({ ok: true, fence: 3 });
});
