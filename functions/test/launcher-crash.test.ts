/**
 * Hardening issue, item 1: `npm run start:firebase` forgot everything on a crash (fences
 * back to 1), and each SIGKILL left its emulator running for good. Now a SIGKILL of the
 * server under load loses nothing (the next start re-attaches to the emulator, which kept
 * everything), and an emulator that no server comes back to is exported and stopped, as
 * is one whose server is killed in the middle of a clean stop.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { latestExport } from "../../local/firestore-export.ts";
import { readEmulatorRecord } from "../../local/firestore-local.ts";
import { groupMembers, stopProcessGroup } from "../../local/process-group.ts";
import { type StartedServer, startServer } from "../../test/start-server.ts";

const dirs: string[] = [];
const servers: StartedServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop("SIGKILL");
  // On a failure: the supervisors of these data directories (their argv names them), and their groups.
  for (const name of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    const cmdline = (() => {
      try {
        return readFileSync(`/proc/${name}/cmdline`, "utf8");
      } catch {
        return "";
      }
    })();
    if (dirs.some((dir) => cmdline.includes(dir))) await stopProcessGroup(Number(name), 2000);
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}, 60_000);

function setUp(extra: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "holdfast-firebase-crash-"));
  dirs.push(dir);
  const env = { HOLDFAST_DATA_DIR: dir, HOLDFAST_TOKEN: "dev", ...extra };
  const start = async () => {
    const server = await startServer(env, "scripts/start-firebase.ts");
    servers.push(server);
    return server;
  };
  return { start, firestoreDir: join(dir, "firestore") };
}

async function call(server: StartedServer, path: string, body: object) {
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { authorization: "Bearer dev", "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, string> };
}

/** Acquires until the emulator answers in time (its first writes are slow on a busy machine). */
async function warmUp(server: StartedServer) {
  for (let attempt = 0; attempt < 30; attempt++) {
    const grant = await call(server, "/v1/locks/acquire", { key: `warm-up-${attempt}` });
    if (grant.status < 500) return;
  }
}

async function gone(pgid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (groupMembers(pgid).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return groupMembers(pgid).length === 0;
}

it("keeps every grant answered before a SIGKILL of the server under load, and no fence goes back", async () => {
  const { start, firestoreDir } = setUp({ HOLDFAST_FIRESTORE_EXPORT_SECONDS: "2" });
  const first = await start();
  const record = readEmulatorRecord(firestoreDir);
  expect(record?.pgid).toBeGreaterThan(0);
  await warmUp(first);

  const held: { key: string; lockId: string; fence: string }[] = [];
  const highest = new Map<string, string>();
  let running = true;
  // Each client takes long-held grants on keys of its own and cycles a key it shares with nobody.
  const client = async (n: number) => {
    for (let i = 0; running; i++) {
      try {
        const key = `held:${n}:${i}`;
        const grant = await call(first, "/v1/locks/acquire", { key, ttlMs: 300_000 });
        if (grant.status === 200)
          held.push({ key, lockId: grant.json.lockId as string, fence: grant.json.fence as string });
        const cycle = await call(first, "/v1/locks/acquire", { key: `cycle:${n}`, ttlMs: 3000 });
        if (cycle.status !== 200) continue;
        highest.set(`cycle:${n}`, cycle.json.fence as string);
        await call(first, "/v1/locks/release", { lockId: cycle.json.lockId as string });
      } catch {
        return; // the server is gone
      }
    }
  };
  const clients = Array.from({ length: 6 }, (_, n) => client(n));
  await new Promise((resolve) => setTimeout(resolve, 4000));
  await first.stop("SIGKILL");
  running = false;
  await Promise.all(clients);
  expect(held.length).toBeGreaterThan(5);
  // The emulator outlives the server, and the next server re-attaches to it.
  expect(groupMembers(record?.pgid as number).length).toBeGreaterThan(0);

  const second = await start();
  expect(second.output()).toMatch(/re-attached/);
  for (const grant of held) {
    const lookup = await call(second, "/v1/locks/lookup", { key: grant.key });
    expect(lookup.json, grant.key).toMatchObject({ locked: true, fence: grant.fence });
    expect((await call(second, "/v1/locks/owns", { lockId: grant.lockId })).json).toMatchObject({ owned: true });
  }
  for (const [key, fence] of highest) {
    const lookup = await call(second, "/v1/locks/lookup", { key });
    expect(String(lookup.json.fence) >= fence, `${key}: fence ${lookup.json.fence} after ${fence}`).toBe(true);
    // A cycle key may be held by an acquire the kill left unanswered: its 3 s lease runs out.
    const next = await call(second, "/v1/locks/acquire", { key, waitMs: 10_000 });
    expect(next.status).toBe(200);
    expect(String(next.json.fence) > fence, `${key}: ${next.json.fence} after ${fence}`).toBe(true);
  }

  // A clean stop exports and leaves no emulator behind.
  await second.stop("SIGTERM");
  expect(await gone(record?.pgid as number, 1000)).toBe(true);
  expect(existsSync(join(firestoreDir, "emulator.json"))).toBe(false);
  expect(latestExport(firestoreDir)).toBeDefined();
}, 180_000);

it("stops an emulator no server comes back to, keeping its documents, and one whose server dies while stopping", async () => {
  const { start, firestoreDir } = setUp({
    HOLDFAST_FIRESTORE_ORPHAN_SECONDS: "3",
    HOLDFAST_FIRESTORE_EXPORT_SECONDS: "600",
  });
  const first = await start();
  const record = readEmulatorRecord(firestoreDir);
  await warmUp(first);
  const grant = await call(first, "/v1/locks/acquire", { key: "kept", ttlMs: 300_000 });
  expect(grant.status).toBe(200);
  await first.stop("SIGKILL");
  // Orphaned: exported (no periodic export has run) and stopped.
  expect(await gone(record?.pgid as number, 30_000)).toBe(true);

  const second = await start();
  expect(second.output()).not.toMatch(/re-attached/);
  const lookup = await call(second, "/v1/locks/lookup", { key: "kept" });
  expect(lookup.json).toMatchObject({ locked: true, fence: grant.json.fence });

  // SIGTERM, then SIGKILL before the stop is done: the supervisor finishes the stop alone.
  const next = readEmulatorRecord(firestoreDir);
  process.kill(-(second.process.pid as number), "SIGTERM");
  await new Promise((resolve) => setTimeout(resolve, 100));
  await second.stop("SIGKILL");
  expect(await gone(next?.pgid as number, 20_000)).toBe(true);
}, 180_000);

it("loses at most the export period when the emulator itself crashes, and says so", async () => {
  const { start, firestoreDir } = setUp({ HOLDFAST_FIRESTORE_EXPORT_SECONDS: "1" });
  const first = await start();
  const record = readEmulatorRecord(firestoreDir);
  await warmUp(first);
  const grant = await call(first, "/v1/locks/acquire", { key: "exported", ttlMs: 300_000 });
  expect(grant.status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 3000)); // more than one export period
  const java = groupMembers(record?.pgid as number).filter((pid) =>
    readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("java"),
  );
  expect(java).toHaveLength(1);
  process.kill(java[0] as number, "SIGKILL");
  // The server has no store left: it says so and exits; its supervisor is gone too.
  const exited = await new Promise<number | null>((resolve) => first.process.once("exit", resolve));
  expect(exited).toBe(1);
  expect(first.output()).toMatch(/the Firestore emulator stopped on its own/);
  expect(await gone(record?.pgid as number, 10_000)).toBe(true);

  const second = await start();
  expect(second.output()).toMatch(/ended without its final export \(a crash\): the changes of its last 1 s are lost/);
  const lookup = await call(second, "/v1/locks/lookup", { key: "exported" });
  expect(lookup.json).toMatchObject({ locked: true, fence: grant.json.fence });
  await second.stop("SIGTERM");
}, 180_000);
