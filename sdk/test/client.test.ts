/** The SDK against the real app: every operation of the client, in the caller's clock. */
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { createClient, getByKey, isLockError, LockError, owns } from "../src/index.ts";
import { OTHER_TENANT_TOKEN, READ_TOKEN, type TestServer, TOKEN, useTestServer } from "./support/server.ts";

let server: TestServer;
let client: ReturnType<typeof createClient>;
useTestServer((started, connected) => {
  server = started;
  client = connected;
});

let n = 0;
const freshKey = () => `client-test:${++n}`;

describe("acquire and release", () => {
  it("grants, reports contention as a result, and releases", async () => {
    const key = freshKey();
    const lock = await client.acquire({ key, ttlMs: 10_000 });
    expect(lock.ok).toBe(true);
    if (!lock.ok) return;
    expect(lock.key).toBe(key);
    expect(lock.mode).toBe("exclusive");
    expect(lock.fence).toMatch(/^\d{15}$/);
    expect(lock.lockId).toMatch(/^[\w-]{22}\.[\w-]{22}$/);
    expect(lock.signal.aborted).toBe(false);
    // In the caller's clock: within a generous window around now + TTL.
    expect(Math.abs(lock.expiresAtMs - (Date.now() + 10_000))).toBeLessThan(2_000);

    const second = await client.acquire({ key });
    expect(second).toMatchObject({ ok: false, reason: "locked" });

    expect(await lock.release()).toEqual({ ok: true });
    expect(lock.signal.aborted).toBe(true);
    const third = await client.acquire({ key });
    expect(third.ok && third.fence > lock.fence).toBe(true);
    if (third.ok) await third.release();
  });

  it("answers ok: true only to the release that released the lease, and ok: false to every later one", async () => {
    const key = freshKey();
    const releases = () => server.requests.filter((r) => r === "POST /v1/locks/release").length;
    const lock = await client.acquire({ key });
    if (!lock.ok) throw new Error("not granted");
    const before = releases();
    // Concurrent calls: the second waits for the first, which did the releasing.
    expect(await Promise.all([lock.release(), lock.release()])).toEqual([{ ok: true }, { ok: false }]);
    expect(await lock.release()).toEqual({ ok: false });
    await lock[Symbol.asyncDispose]();
    expect(await lock.release()).toEqual({ ok: false });
    expect(releases() - before).toBe(1); // later calls send nothing
    // Disposal first, then release: the same.
    const disposed = await client.acquire({ key });
    await disposed[Symbol.asyncDispose]();
    expect(await disposed.release()).toEqual({ ok: false });
  });

  it("lets a release that was waiting on a failed one release the lease itself", async () => {
    // The first release fails for good: its own retries (3) fail too.
    let failures = 4;
    const flaky = createClient({
      url: server.url,
      token: TOKEN,
      fetch: (input, init) =>
        String(input).endsWith("/v1/locks/release") && failures-- > 0
          ? Promise.reject(new TypeError("connection reset"))
          : fetch(input, init),
    });
    const lock = await flaky.acquire({ key: freshKey() });
    if (!lock.ok) throw new Error("not granted");
    const first = lock.release();
    const second = lock.release();
    await expect(first).rejects.toMatchObject({ code: "ServiceUnavailable" });
    expect(await second).toEqual({ ok: true });
    expect(await lock.release()).toEqual({ ok: false });
    expect(await client.owns({ lockId: lock.lockId })).toEqual({ owned: false });
  });

  it("gives a not-acquired result release and extend that answer ok: false, without a request", async () => {
    const key = freshKey();
    const holder = await client.acquire({ key });
    const refused = await client.acquire({ key });
    expect(refused).toMatchObject({ ok: false, reason: "locked" });
    const before = server.requests.length;
    // Careless code that skips the `ok` check does not throw.
    expect(await refused.release()).toEqual({ ok: false });
    expect(await refused.extend(60_000)).toEqual({ ok: false });
    expect(await refused.extend()).toEqual({ ok: false });
    await expect(refused[Symbol.asyncDispose]()).resolves.toBeUndefined();
    expect(server.requests.length).toBe(before);
    // The holder's lease is untouched.
    expect(holder.ok && (await owns(client, holder.lockId))).toBe(true);
    expect(await holder.release()).toEqual({ ok: true });
  });

  it("releases on `await using`, idempotently, for granted and not-granted results", async () => {
    const key = freshKey();
    let lockId = "";
    {
      await using lock = await client.acquire({ key });
      await using refused = await client.acquire({ key });
      expect(refused.ok).toBe(false);
      if (lock.ok) lockId = lock.lockId;
    }
    expect(await client.owns({ lockId })).toEqual({ owned: false });
    expect(await getByKey(client, key)).toBeNull();
  });

  it("never throws from dispose, even when the release gets no answer, and reports the failure once", async () => {
    const failures: unknown[] = [];
    const impatient = createClient({
      url: server.url,
      token: TOKEN,
      timeoutMs: 200,
      onReleaseError: (e) => failures.push(e),
    });
    // Long enough to outlive the release's own retries (4 tries of 200 ms, with pauses).
    const lock = await impatient.acquire({ key: freshKey(), ttlMs: 5000 });
    if (!lock.ok) throw new Error("not granted");
    server.hang(["/v1/locks/release"]);
    try {
      await expect(lock[Symbol.asyncDispose]()).resolves.toBeUndefined();
      await expect(lock[Symbol.asyncDispose]()).resolves.toBeUndefined();
    } finally {
      server.hang([]);
    }
    expect(failures).toHaveLength(1);
    expect(isLockError(failures[0], "NetworkTimeout")).toBe(true);
    // A failed release can be retried by hand.
    expect(await lock.release()).toEqual({ ok: true });
  });

  it("extends a lease and reports the new expiry", async () => {
    const lock = await client.acquire({ key: freshKey(), ttlMs: 1000 });
    if (!lock.ok) throw new Error("not granted");
    const before = lock.expiresAtMs;
    const extended = await lock.extend(60_000);
    expect(extended.ok).toBe(true);
    expect(lock.expiresAtMs).toBeGreaterThan(before + 30_000);
    const byId = await client.extend({ lockId: lock.lockId, ttlMs: 120_000 });
    expect(byId.ok && byId.expiresAtMs > lock.expiresAtMs).toBe(true);
    await lock.release();
    expect(await client.extend({ lockId: lock.lockId, ttlMs: 1000 })).toEqual({ ok: false });
    expect(await lock.extend()).toEqual({ ok: false });
  });

  it("answers owns and getByKey, with the top-level helpers", async () => {
    const key = freshKey();
    const lock = await client.acquire({ key });
    if (!lock.ok) throw new Error("not granted");
    expect(await client.owns({ lockId: lock.lockId })).toEqual({
      owned: true,
      key,
      mode: "exclusive",
      permits: 1,
      fence: lock.fence,
      expiresAtMs: expect.any(Number),
    });
    expect(await owns(client, lock.lockId)).toBe(true);
    const info = await client.getByKey({ key });
    expect(info).toMatchObject({ locked: true, fence: lock.fence, limit: null });
    expect(info.holders).toEqual([
      expect.objectContaining({ mode: "exclusive", permits: 1, fence: lock.fence, lockId: lock.lockId }),
    ]);
    await lock.release();
    expect(await owns(client, lock.lockId)).toBe(false);
    expect(await client.getByKey({ key })).toMatchObject({ locked: false, holders: [], fence: lock.fence });
    expect(await client.release({ lockId: lock.lockId })).toEqual({ ok: false });
  });

  it("releases by lockId from another client", async () => {
    const lock = await client.acquire({ key: freshKey() });
    if (!lock.ok) throw new Error("not granted");
    const other = createClient({ url: `${server.url}/`, getToken: async () => TOKEN });
    expect(await other.release({ lockId: lock.lockId })).toEqual({ ok: true });
    expect(await lock.extend()).toEqual({ ok: false });
    expect(lock.signal.aborted).toBe(true);
    expect(await lock.release()).toEqual({ ok: false }); // known lost: no request needed
  });
});

describe("semaphores and read-write locks", () => {
  it("grants permits up to the limit", async () => {
    const key = freshKey();
    const a = await client.acquire({ key, limit: 3, permits: 2 });
    const b = await client.acquire({ key, limit: 3 });
    const c = await client.acquire({ key, limit: 3 });
    expect([a.ok, b.ok, c.ok]).toEqual([true, true, false]);
    expect(a.ok && a.mode).toBe("shared");
    await expect(client.acquire({ key, limit: 5 })).rejects.toMatchObject({ code: "InvalidArgument" });
    for (const lock of [a, b]) await lock[Symbol.asyncDispose]();
  });

  it("lets readers share and keeps writers exclusive", async () => {
    const rw = client.readWrite(freshKey());
    const r1 = await rw.read();
    const r2 = await rw.read();
    expect([r1.ok, r2.ok]).toEqual([true, true]);
    expect((await rw.write()).ok).toBe(false);
    await r1[Symbol.asyncDispose]();
    await r2[Symbol.asyncDispose]();
    const w = await rw.write();
    expect(w.ok).toBe(true);
    expect((await rw.read()).ok).toBe(false);
    await w[Symbol.asyncDispose]();
  });
});

describe("errors", () => {
  it("raises the server's codes as LockErrors", async () => {
    const wrong = createClient({ url: server.url, token: "nope" });
    const auth = await wrong.acquire({ key: "k" }).catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(LockError);
    expect(auth).toMatchObject({ code: "AuthFailed", status: 401 });

    const reader = createClient({ url: server.url, token: READ_TOKEN });
    await expect(reader.acquire({ key: "k" })).rejects.toMatchObject({ code: "AuthFailed", status: 403 });

    await expect(client.acquire({ key: "k", ttlMs: 5 })).rejects.toMatchObject({ code: "InvalidArgument" });
    await expect(client.owns({ lockId: "not-a-lock-id" })).rejects.toMatchObject({ code: "InvalidArgument" });
  });

  it("keeps tenants apart", async () => {
    const key = freshKey();
    const mine = await client.acquire({ key });
    const theirs = await createClient({ url: server.url, token: OTHER_TENANT_TOKEN }).acquire({ key });
    expect([mine.ok, theirs.ok]).toEqual([true, true]);
    await mine[Symbol.asyncDispose]();
    await theirs[Symbol.asyncDispose]();
  });

  it("recognises LockErrors from another realm by their shape", () => {
    const foreign = runInNewContext(
      'class LockError extends Error { name = "LockError"; code = "AuthFailed"; }; new LockError("x")',
    );
    expect(foreign instanceof LockError).toBe(false);
    expect(isLockError(foreign)).toBe(true);
    expect(isLockError(foreign, "AuthFailed")).toBe(true);
    expect(isLockError(foreign, "Internal")).toBe(false);
    for (const value of [null, undefined, "LockError", new Error("x"), { name: "LockError" }]) {
      expect(isLockError(value)).toBe(false);
    }
  });

  it("reports a failing getToken as AuthFailed with the cause", async () => {
    const cause = new Error("vault sealed");
    const c = createClient({
      url: server.url,
      getToken: () => {
        throw cause;
      },
    });
    const error = await c.acquire({ key: "k" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "AuthFailed", cause });
  });

  it("reports an unreachable service as ServiceUnavailable", async () => {
    const nowhere = createClient({ url: "http://127.0.0.1:9", token: TOKEN });
    const error = await nowhere.acquire({ key: "k" }).catch((e: unknown) => e);
    expect(isLockError(error, "ServiceUnavailable")).toBe(true);
    expect((error as LockError).cause).toBeDefined();
  });
});

describe("clock", () => {
  it("estimates the offset from answers and GET /v1/time", async () => {
    const fresh = createClient({ url: server.url, token: TOKEN });
    expect(fresh.clock()).toBeUndefined();
    const estimate = await fresh.syncClock();
    // Same machine, same clock: the offset is within the sample's own uncertainty plus slack.
    expect(Math.abs(estimate.offsetMs)).toBeLessThanOrEqual(estimate.rttMs / 2 + 50);
    expect(estimate.maxOffsetMs).toBeGreaterThanOrEqual(Math.abs(estimate.offsetMs));
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
});
