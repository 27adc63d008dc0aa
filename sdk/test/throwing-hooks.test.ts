/**
 * Hooks that throw or reject (campaign callbacks, telemetry) neither stop the SDK nor
 * leave an unhandled rejection behind.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { campaign } from "../src/election.ts";
import { createClient } from "../src/index.ts";
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

describe("hooks that throw", () => {
  it("keeps campaigning when both onElected and onError throw, and frees the key on resign", async () => {
    const key = "hooks:campaign";
    const run = campaign(client, key, {
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
    const lock = await hooked.acquire({ key: "hooks:telemetry" });
    if (!lock.ok) throw new Error("not granted");
    await lock.release();
    await sleep(50);
    expect(unhandled).toEqual([]);
  });
});
