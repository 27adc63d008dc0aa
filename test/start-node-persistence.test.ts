/**
 * `npm run start:node`'s persistence, the journal, under the memory backend: write-ahead
 * (an answer only once the change is on disk; a failed write changes nothing and is a
 * ServiceUnavailable), a key without holders kept as its fence alone, fences restored
 * exactly at start, the stores of earlier versions (the JSON file, LMDB) imported once, and
 * the lock contracts over it. Real files in temp dirs; the journal's own crash and
 * compaction cases are in journal.test.ts.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AcquireRequest,
  type AcquireResult,
  type Backend,
  createApp,
  createMemoryBackend,
  type Grant,
  isLockError,
  type KeyState,
  keyIdOf,
  newToken,
  staticTokens,
  tokensFromEnv,
} from "@holdfast/shared";
import { runBackendContract, runHttpContract, runWaitingContract } from "@holdfast/shared/contract";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { type JournalPersistence, openJournal } from "../node/src/journal/index.ts";
import { LogWriter } from "../node/src/journal/log-writer.ts";
import { recover } from "../node/src/journal/recover.ts";
import { type StartedServer, startServer } from "./start-server.ts";

const dirs: string[] = [];
const opened: JournalPersistence[] = [];
const running: StartedServer[] = [];
afterAll(async () => {
  await Promise.all(running.map((server) => server.stop("SIGKILL")));
  // Some were closed by their backend already; closing again is harmless here.
  await Promise.all(
    opened.map((store) =>
      Promise.resolve()
        .then(() => store.close())
        .catch(() => undefined),
    ),
  );
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

// A spy on the log's append would break every later journal in this file.
afterEach(() => {
  vi.restoreAllMocks();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "holdfast-journal-"));
  dirs.push(dir);
  return dir;
}

async function openStore(path = join(tempDir(), "memory-journal"), now?: () => number): Promise<JournalPersistence> {
  const store = await openJournal(path, now ? { now } : {});
  opened.push(store);
  return store;
}

/** A backend over a fresh store, and a way to reopen the same directory as a restart would. */
async function persisted(path = join(tempDir(), "memory-journal")) {
  const store = await openStore(path);
  const backend = createMemoryBackend({ persist: store });
  const restart = async () => {
    await backend.close?.();
    return createMemoryBackend({ persist: await openStore(path) });
  };
  return { store, backend, restart, path };
}

/** A key's record as the files on disk hold it, read back as a restart would. */
async function onDisk(path: string, keyId: string) {
  return (await recover(path)).records.get(keyId);
}

const TENANT = "default";

async function request(key: string, overrides: Partial<AcquireRequest> = {}): Promise<AcquireRequest> {
  return {
    tenant: TENANT,
    key,
    keyId: await keyIdOf(TENANT, key),
    token: newToken(),
    ttlMs: 60_000,
    mode: "exclusive",
    permits: 1,
    limit: null,
    ...overrides,
  };
}

const ref = (req: AcquireRequest) => ({ tenant: req.tenant, keyId: req.keyId, token: req.token });
const lookupRef = (req: AcquireRequest) => ({ tenant: req.tenant, key: req.key, keyId: req.keyId });

function granted(result: AcquireResult): Grant {
  if (!result.ok) throw new Error(`expected a grant, got ${JSON.stringify(result)}`);
  return result;
}

async function expectUnavailable(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isLockError(error) && error.code).toBe("ServiceUnavailable");
}

/** Makes the journal's appends fail (rejecting, like a failed fdatasync) until restored. */
function breakWrites() {
  return vi.spyOn(LogWriter.prototype, "appendDurably").mockRejectedValue(new Error("EIO: injected"));
}

// The lock model's contracts, over the journal: write-ahead must not change any answer.
for (const [name, run] of [
  ["memory + journal", runBackendContract],
  ["memory + journal", runWaitingContract],
  ["memory + journal", runHttpContract],
] as const) {
  run(name, async () => {
    const { backend } = await persisted();
    return { backend, close: async () => backend.close?.() };
  });
}

describe("journal persistence for start:node", () => {
  it("has a grant on disk when it is answered, and a restart restores it", async () => {
    const { store, backend, restart, path } = await persisted();
    const req = await request("held");
    const grant = granted(await backend.acquire(req));
    // No waiting for a flush here: the answer itself came after the commit.
    expect(store.record(req.keyId)).toMatchObject({ fence: 1 });
    expect(await onDisk(path, req.keyId)).toMatchObject({ fence: 1, holders: [{ token: req.token, fence: 1 }] });

    const again = await restart();
    expect(await again.owns(ref(req))).toMatchObject({ owned: true, holder: { fence: grant.fence } });
    expect((await again.acquire(await request("held"))).ok).toBe(false);
  });

  it("keeps only the fence of a released key, and of one whose holders expired", async () => {
    const { store, backend, path } = await persisted();
    const released = await request("released");
    granted(await backend.acquire(released));
    await backend.release(ref(released));
    expect(store.record(released.keyId)).toStrictEqual({ tenant: TENANT, key: "released", fence: 1 });

    const expiring = await request("expiring", { ttlMs: 1_000 });
    granted(await backend.acquire(expiring));
    await backend.close?.();
    // Restarted after the lease ran out: loading compacts the key to its fence.
    const later = await openStore(path, () => Date.now() + 5_000);
    const states = new Map(later.load());
    expect(later.record(expiring.keyId)).toStrictEqual({ tenant: TENANT, key: "expiring", fence: 1 });
    expect(states.get(expiring.keyId)).toStrictEqual({
      tenant: TENANT,
      key: "expiring",
      fence: 1,
      limit: null,
      holders: [],
    });
  });

  it("changes nothing in memory when a write fails, and answers ServiceUnavailable", async () => {
    const { store, backend, restart, path } = await persisted();
    const holder = await request("failing");
    const grant = granted(await backend.acquire(holder));
    const broken = breakWrites();

    await expectUnavailable(backend.release(ref(holder)));
    await expectUnavailable(backend.extend(ref(holder), 1));
    await expectUnavailable(backend.acquire(await request("never-granted")));
    expect(await backend.owns(ref(holder))).toMatchObject({ owned: true, holder: { expiresAtMs: grant.expiresAtMs } });
    expect(await backend.lookup(lookupRef(await request("never-granted")))).toMatchObject({ fence: 0, holders: [] });
    expect(store.record((await request("never-granted")).keyId)).toBeUndefined();
    expect(await onDisk(path, (await request("never-granted")).keyId)).toBeUndefined();

    // A save that throws at once is the same failure.
    broken.mockRestore();
    const throwing = vi.spyOn(store, "save").mockImplementation(() => {
      throw new Error("ENOSPC: injected");
    });
    await expectUnavailable(backend.release(ref(holder)));

    throwing.mockRestore();
    expect((await backend.release(ref(holder))).ok).toBe(true);
    // The failed grants consumed nothing: the next fence follows the last durable one.
    expect(granted(await backend.acquire(await request("failing"))).fence).toBe(2);
    expect(granted(await (await restart()).acquire(await request("never-granted"))).fence).toBe(1);
  });

  it("answers 503 ServiceUnavailable over HTTP when the write fails", async () => {
    const { backend } = await persisted();
    const app = createApp({ backend, auth: staticTokens(tokensFromEnv({ HOLDFAST_TOKEN: "t" })), corsOrigins: [] });
    breakWrites();
    const response = await app.request("/v1/locks/acquire", {
      method: "POST",
      headers: { authorization: "Bearer t", "content-type": "application/json" },
      body: JSON.stringify({ key: "http-failing" }),
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: "ServiceUnavailable" } });
  });

  it("fails a waiter whose hand-off could not be written, and the holder keeps the key", async () => {
    const { store, backend } = await persisted();
    const holder = await request("handoff");
    granted(await backend.acquire(holder));
    const waiter = await request("handoff");
    const waiting = backend.acquireQueued?.(waiter, { waitMs: 10_000, signal: new AbortController().signal });
    await new Promise((resolve) => setTimeout(resolve, 20));

    const broken = breakWrites();
    await expectUnavailable(backend.release(ref(holder)));
    await expectUnavailable(waiting as Promise<AcquireResult>);
    expect(await backend.owns(ref(holder))).toMatchObject({ owned: true, holder: { fence: 1 } });
    expect(await backend.owns(ref(waiter))).toMatchObject({ owned: false });

    broken.mockRestore();
    expect((await backend.release(ref(holder))).ok).toBe(true);
    expect(store.record(holder.keyId)).toStrictEqual({ tenant: TENANT, key: "handoff", fence: 1 });
  });

  it("decides nothing on a key while its write is in flight", async () => {
    const { backend } = await persisted();
    let failFirst!: () => void;
    const firstWrite = new Promise<void>((resolve) => {
      failFirst = resolve;
    });
    // Once; then the spy calls through to the real append.
    vi.spyOn(LogWriter.prototype, "appendDurably").mockImplementationOnce(async () => {
      await firstWrite;
      throw new Error("EIO: injected");
    });

    const first = backend.acquire(await request("in-flight"));
    const second = request("in-flight").then((req) => backend.acquire(req));
    let secondAnswered = false;
    void second.then(() => {
      secondAnswered = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    // The second acquire must not have been refused on the strength of the unconfirmed grant.
    expect(secondAnswered).toBe(false);

    failFirst();
    await expectUnavailable(first);
    // It was decided on the state that is durable: the key was free, and fence 1 was never acknowledged.
    expect(granted(await second).fence).toBe(1);
  });

  it("restores every fence of 20,000 keys at start", async () => {
    const { store, path } = await persisted();
    const count = 20_000;
    const expected = new Map<string, number>();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const keyId = `k${String(i).padStart(20, "0")}`.slice(-22);
      const fence = 1 + ((i * 7_919) % 999_983);
      expected.set(keyId, fence);
      const state: KeyState = { tenant: TENANT, key: `key-${i}`, fence, limit: null, holders: [] };
      writes.push(Promise.resolve(store.save(keyId, state)));
    }
    await Promise.all(writes);
    await store.close();

    const started = performance.now();
    const loaded = new Map((await openStore(path)).load());
    console.log(`opened the journal and loaded ${loaded.size} keys in ${(performance.now() - started).toFixed(0)} ms`);
    expect(loaded.size).toBe(count);
    for (const [keyId, fence] of expected) expect(loaded.get(keyId)?.fence).toBe(fence);
  });

  it("measures acquire+release pairs/s with 0 and with 20,000 keys (printed, not asserted)", async () => {
    const empty = (await persisted()).backend;
    const { store, path } = await persisted();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 20_000; i++) {
      const state: KeyState = { tenant: TENANT, key: `filler-${i}`, fence: i + 1, limit: null, holders: [] };
      writes.push(Promise.resolve(store.save(`filler${String(i).padStart(16, "0")}`, state)));
    }
    await Promise.all(writes);
    await store.close();
    // Loaded at start, as start:node would: the backend's map holds the 20,000 keys too.
    const full = createMemoryBackend({ persist: await openStore(path) });
    // Interleaved rounds, medians: one noisy second on a shared machine says little.
    const rounds = { empty: [] as number[], full: [] as number[] };
    for (let round = 0; round < 3; round++) {
      rounds.empty.push(await pairsPerSecond(empty, `empty-${round}`));
      rounds.full.push(await pairsPerSecond(full, `full-${round}`));
    }
    const at0 = median(rounds.empty);
    const at20k = median(rounds.full);
    console.log(
      `start:node persistence, 32 concurrent clients, backend level, median of 3: ${at0.toFixed(0)} pairs/s ` +
        `with 0 keys, ${at20k.toFixed(0)} pairs/s with 20,000 keys (${(at20k / at0).toFixed(2)}×)`,
    );
    expect(at20k).toBeGreaterThan(0);
  }, 30_000);
});

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** 32 clients, each acquiring and releasing its own key, for half a second. */
async function pairsPerSecond(backend: Backend, label: string): Promise<number> {
  const requests = await Promise.all(Array.from({ length: 32 }, (_, i) => request(`measure-${label}-${i}`)));
  const durationMs = 500;
  const started = performance.now();
  let pairs = 0;
  await Promise.all(
    requests.map(async (template) => {
      while (performance.now() - started < durationMs) {
        const req = { ...template, token: newToken() };
        granted(await backend.acquire(req));
        await backend.release(ref(req));
        pairs++;
      }
    }),
  );
  return pairs / ((performance.now() - started) / 1_000);
}

describe("npm run start:node over the journal", () => {
  it("says where the state lives, and keeps grants and fences across a SIGKILL", async () => {
    const dataDir = tempDir();

    const start = async () => {
      const server = await startServer(
        { HOLDFAST_DATA_DIR: dataDir, HOLDFAST_TOKEN: "secret" },
        "scripts/start-node.ts",
      );
      running.push(server);
      const acquire = async (key: string) => {
        const response = await fetch(`${server.url}/v1/locks/acquire`, {
          method: "POST",
          headers: { authorization: "Bearer secret", "content-type": "application/json" },
          body: JSON.stringify({ key, ttlMs: 60_000 }),
        });
        return { status: response.status, body: (await response.json()) as Record<string, string> };
      };
      return { server, acquire };
    };

    const first = await start();
    expect(first.server.output()).toContain(`state in ${join(dataDir, "memory-journal")}`);
    expect((await first.acquire("kept")).body.fence).toBe("000000000000001");
    await first.server.stop("SIGKILL");

    const second = await start();
    expect((await second.acquire("kept")).status).toBe(409);
    await second.server.stop();
    // SIGTERM closed the journal cleanly; a third start still has the grant.
    const third = await start();
    expect((await third.acquire("kept")).status).toBe(409);
    await third.server.stop();
  }, 90_000);

  it("keeps every answered change across a SIGKILL under load, in the middle of compactions", async () => {
    const dataDir = tempDir();
    // A small log, so that generations turn over while the load runs and the kill lands.
    const env = { HOLDFAST_DATA_DIR: dataDir, HOLDFAST_TOKEN: "secret", HOLDFAST_JOURNAL_COMPACT_BYTES: "16384" };
    const server = await startServer(env, "scripts/start-node.ts");
    running.push(server);
    const post = async (url: string, path: string, body: object) => {
      const response = await fetch(`${url}${path}`, {
        method: "POST",
        headers: { authorization: "Bearer secret", "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    // Per worker: the highest fence answered on its counter key, and the grants it holds.
    const counters = new Map<string, string>();
    const held: { key: string; lockId: string; fence: string }[] = [];
    let killed = false;
    const workers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !killed; i++) {
        try {
          const counter = await post(server.url, "/v1/locks/acquire", { key: `counter:${w}`, ttlMs: 60_000 });
          if (counter.status !== 200) throw new Error(`counter ${counter.status}`);
          counters.set(`counter:${w}`, String(counter.body.fence));
          await post(server.url, "/v1/locks/release", { lockId: counter.body.lockId });
          const grant = await post(server.url, "/v1/locks/acquire", { key: `held:${w}:${i}`, ttlMs: 60_000 });
          if (grant.status === 200)
            held.push({ key: `held:${w}:${i}`, lockId: String(grant.body.lockId), fence: String(grant.body.fence) });
        } catch {
          return; // the server is gone
        }
      }
    });
    // Generations turn over during the load (the first start opens generation 1); kill once
    // several have, after at least a second of load, whatever the machine's speed.
    const newestGeneration = () =>
      Math.max(...readdirSync(join(dataDir, "memory-journal")).map((name) => Number(/-(\d+)$/.exec(name)?.[1] ?? 0)));
    const loadStarted = Date.now();
    while ((newestGeneration() <= 3 || Date.now() - loadStarted < 1_000) && Date.now() - loadStarted < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    killed = true;
    await server.stop("SIGKILL");
    await Promise.all(workers);
    expect(newestGeneration()).toBeGreaterThan(3);
    expect(held.length).toBeGreaterThan(20);

    const restarted = await startServer(env, "scripts/start-node.ts");
    running.push(restarted);
    // Every answered grant is still held, with its fence.
    for (const grant of held) {
      expect((await post(restarted.url, "/v1/locks/owns", { lockId: grant.lockId })).body).toMatchObject({
        owned: true,
        fence: grant.fence,
      });
    }
    // No counter's fence went back (a grant in flight at the kill may have gone one further).
    for (const [key, fence] of counters) {
      const lookup = await post(restarted.url, "/v1/locks/lookup", { key });
      expect(String(lookup.body.fence) >= fence).toBe(true);
    }
    await restarted.stop();
  }, 90_000);
});
