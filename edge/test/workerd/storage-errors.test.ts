/**
 * Issue 11, item 12: a Durable Object whose storage fails answers ServiceUnavailable
 * (503: retry), not Internal (500: a bug of ours), and its stored state is unchanged.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { keyIdOf, newToken } from "@holdfast/shared";
import { expect, it } from "vitest";
import { createDurableObjectBackend } from "../../src/durable-object/backend.ts";

it("maps a failing storage write to ServiceUnavailable", async () => {
  const backend = createDurableObjectBackend(env.LOCKS);
  const key = `storage-fails:${newToken()}`;
  const keyId = await keyIdOf("t", key);
  const request = () => ({
    tenant: "t",
    key,
    keyId,
    token: newToken(),
    ttlMs: 10_000,
    mode: "exclusive" as const,
    permits: 1,
    limit: null,
  });
  const first = await backend.acquire(request());
  expect(first).toMatchObject({ ok: true, fence: 1 });
  const stub = env.LOCKS.get(env.LOCKS.idFromName(keyId));
  // From now on this object's writes fail, as a full or unavailable store's would.
  await runInDurableObject(stub, (_, state) => {
    Object.defineProperty(state.storage.kv, "put", {
      configurable: true,
      value: () => {
        throw new Error("SQLITE_FULL: database or disk is full");
      },
    });
  });
  if (!first.ok) throw new Error("not granted");
  const failed = await backend.release({ tenant: "t", keyId, token: first.token }).catch((error: unknown) => error);
  expect(failed).toMatchObject({ code: "ServiceUnavailable", message: expect.stringMatching(/storage failed/) });
  // The failed release changed nothing: the holder is still there.
  expect(await backend.lookup({ tenant: "t", key, keyId })).toMatchObject({ fence: 1, holders: [{ fence: 1 }] });
});
