/**
 * Regressions found in review: a grant after a long server-side wait starts with a
 * fresh proof, a misrouted 404 is an error rather than "not held", a throwing campaign
 * error handler neither stops nor leaks, and async hooks never reject unhandled.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, isLockError } from "../src/index.ts";
import { type TestServer, TOKEN, useTestServer } from "./support/server.ts";

let server: TestServer;
let client: ReturnType<typeof createClient>;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
useTestServer((started, connected) => {
  server = started;
  client = connected;
});
beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
});
afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("after review", () => {
  it("renews a grant that arrived after a wait longer than its TTL, instead of handing out a dead lease", async () => {
    const key = "review:waited";
    const holder = await client.acquire({ key });
    if (!holder.ok) throw new Error("not granted");
    const waiting = client.acquire({ key, ttlMs: 1_000, waitMs: 10_000, autoExtend: true });
    await sleep(1_500); // longer than the waiter's TTL
    await holder.release();
    const lock = await waiting;
    if (!lock.ok) throw new Error("not granted");
    expect(lock.signal.aborted).toBe(false);
    expect(await client.owns({ lockId: lock.lockId })).toMatchObject({ owned: true });
    await lock.release();
  });

  it("treats a 404 without the API's answer shape as an error, not as 'not held'", async () => {
    const misrouted = createClient({
      url: "http://127.0.0.1:9",
      token: TOKEN,
      fetch: async () => Response.json({ message: "Not Found" }, { status: 404 }),
    });
    const error = await misrouted.acquire({ key: "k" }).catch((e: unknown) => e);
    expect(isLockError(error)).toBe(true);
  });

  it("keeps campaigning when both onElected and onError throw, and frees the key on resign", async () => {
    const key = "review:campaign";
    const run = client.campaign(key, {
      ttlMs: 2_000,
      onElected: () => {
        throw new Error("onElected bug");
      },
      onError: () => {
        throw new Error("onError bug too");
      },
    });
    await sleep(300);
    await run.resign();
    await sleep(50);
    const after = await client.acquire({ key });
    expect(after.ok).toBe(true);
    if (after.ok) await after.release();
    expect(unhandled).toEqual([]);
  });

  it("never leaves an unhandled rejection from async hooks", async () => {
    const hooked = createClient({
      url: server.url,
      token: TOKEN,
      onEvent: async () => {
        throw new Error("telemetry down");
      },
    });
    const lock = await hooked.acquire({ key: "review:hooks" });
    if (!lock.ok) throw new Error("not granted");
    await lock.release();
    await sleep(50);
    expect(unhandled).toEqual([]);
  });
});
