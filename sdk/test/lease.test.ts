/**
 * Lease health against the real app: autoExtend keeps a lease past its TTL, a revoked
 * lease aborts lock.signal, and — the fault test — when the server stops answering,
 * lock.signal fires while the server still holds the lease (before it could expire).
 */
import { describe, expect, it } from "vitest";
import { createClient, isLockError, type OwnsResult } from "../src/index.ts";
import { type TestServer, TOKEN, useTestServer } from "./support/server.ts";

let server: TestServer;
let client: ReturnType<typeof createClient>;
useTestServer((started, connected) => {
  server = started;
  client = connected;
});

const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));

describe("lease health", () => {
  it("autoExtend keeps the lease past several TTLs", async () => {
    const lock = await client.acquire({ key: "lease:auto", ttlMs: 1000, autoExtend: true });
    if (!lock.ok) throw new Error("not granted");
    await new Promise((resolve) => setTimeout(resolve, 2200));
    expect(lock.signal.aborted).toBe(false);
    expect(await client.owns({ lockId: lock.lockId })).toMatchObject({ owned: true });
    await lock.release();
    expect(lock.signal.aborted).toBe(true);
  });

  it("autoExtend with a safetyMarginMs close to the TTL extends before the margin begins", async () => {
    const tight = createClient({ url: server.url, token: TOKEN, safetyMarginMs: 1500 });
    const lock = await tight.acquire({ key: "lease:tight-margin", ttlMs: 2000, autoExtend: true });
    if (!lock.ok) throw new Error("not granted");
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(lock.signal.aborted).toBe(false);
    await lock.release();
  });

  it("aborts lock.signal when the lease is revoked", async () => {
    const lock = await client.acquire({ key: "lease:revoked", ttlMs: 600, autoExtend: true });
    if (!lock.ok) throw new Error("not granted");
    await client.release({ lockId: lock.lockId });
    await aborted(lock.signal);
    expect(isLockError(lock.signal.reason, "Aborted")).toBe(true);
    expect((lock.signal.reason as Error).message).toMatch(/lost \(not-held\)/);
  });

  it("fires lock.signal before the server could expire the lease when the server stops answering", async () => {
    const lock = await client.acquire({ key: "lease:fault", ttlMs: 3000, autoExtend: true });
    if (!lock.ok) throw new Error("not granted");
    // From now on extends (and only extends) get no answer.
    server.hang(["/v1/locks/extend"]);
    try {
      await aborted(lock.signal);
      // Ask the server directly, the moment the signal fired: it must still hold the lease.
      const owned: OwnsResult = await client.owns({ lockId: lock.lockId });
      expect(owned.owned).toBe(true);
      expect(server.requests.filter((r) => r === "POST /v1/locks/extend").length).toBeGreaterThanOrEqual(1);
      expect((lock.signal.reason as Error).message).toMatch(/lost \(deadline\)/);
    } finally {
      server.hang([]);
    }
    await lock[Symbol.asyncDispose]();
  });
});
