/**
 * The faults against a real Holdfast server (`npm run start:node`'s entry, journal in a
 * temp dir) behind the client proxy: a schedule of a kill, a dropped answer and a
 * duplicated request, applied while a client keeps acquiring; every fault heals, the
 * service comes back by itself, recovery is measured, and grants given before the kill
 * are still there after it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { freePort } from "../../local/firestore-emulator.ts";
import { faultCatalog } from "../faults/catalog.ts";
import { ManagedProcess } from "../faults/process.ts";
import { type FaultProxy, startFaultProxy } from "../faults/proxy.ts";
import { httpReady } from "../faults/ready.ts";
import { faultRun } from "../faults/run.ts";
import { faultDuring } from "../faults/windows.ts";

const TOKEN = "proof-faults";
const dataDir = mkdtempSync(join(tmpdir(), "holdfast-proof-faults-"));
let server: ManagedProcess | undefined;
let proxy: FaultProxy | undefined;
afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function acquire(url: string, key: string): Promise<{ status: number; fence?: string }> {
  try {
    const response = await fetch(`${url}/v1/locks/acquire`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ key, ttlMs: 60_000 }),
      signal: AbortSignal.timeout(2000),
    });
    const body = (await response.json().catch(() => ({}))) as { fence?: string };
    return { status: response.status, ...(body.fence === undefined ? {} : { fence: body.fence }) };
  } catch {
    return { status: 0 };
  }
}

it("a Holdfast server comes back by itself after each scheduled fault", { timeout: 60_000 }, async () => {
  const port = await freePort();
  server = new ManagedProcess({
    name: "server",
    command: process.execPath,
    args: ["--import", "tsx/esm", "scripts/start-node.ts"],
    env: { PORT: String(port), HOLDFAST_TOKEN: TOKEN, HOLDFAST_DATA_DIR: dataDir },
    ready: () => httpReady(`http://127.0.0.1:${port}/health`),
  });
  await server.start();
  proxy = await startFaultProxy({ name: "server", target: { port } });
  const url = proxy.url;
  const before = await acquire(url, "kept");
  expect(before.status).toBe(200);

  let n = 0;
  const schedule = [
    { startMs: 200, durationMs: 300, kind: "kill-server" },
    { startMs: 1200, durationMs: 300, kind: "drop-response" },
    { startMs: 2000, durationMs: 300, kind: "duplicate-request" },
  ];
  const run = faultRun({
    seed: 0,
    schedule,
    faults: faultCatalog({ server, clientProxy: proxy }),
    probe: async () => (await acquire(url, `probe-${n++}`)).status === 200,
    probeIntervalMs: 20,
    log: (line) => {
      if (line.startsWith("healed:")) healed++;
    },
  });
  let healed = 0;
  await run.start();
  const answers: { from: number; to: number; status: number }[] = [];
  // Load until every fault has healed (the restart delays the rest of the schedule), and a little after.
  let until = performance.now() + 30_000;
  while (performance.now() < until) {
    if (healed === schedule.length) until = Math.min(until, performance.now() + 300);
    const from = performance.now();
    const { status } = await acquire(url, `load-${n++}`);
    answers.push({ from, to: performance.now(), status });
  }
  const report = await run.stop();
  // The restart is part of the kill's recovery: measured from the fault's end, not from the restart.
  expect(report.records[0]?.recoveryMs).toBeGreaterThan(50);

  expect(report.records.map((record) => record.kind)).toEqual(schedule.map((fault) => fault.kind));
  for (const record of report.records) {
    expect(record.error).toBeUndefined();
    expect(record.recoveryMs).toBeGreaterThanOrEqual(0);
  }
  // Outside the faults, every acquire of a fresh key is granted. Inside: a lost connection,
  // 503/504, a grant, or 409 when a duplicate took the key before the original.
  for (const answer of answers) {
    if (!faultDuring(report, answer.from, answer.to)) expect(answer.status).toBe(200);
    else expect([0, 200, 409, 503, 504]).toContain(answer.status);
  }
  expect(answers.some((answer) => answer.status === 0)).toBe(true);
  expect(proxy.stats.droppedResponses).toBeGreaterThan(0);
  expect(proxy.stats.duplicatedRequests).toBeGreaterThan(0);
  // The grant from before the kill survived it (journal): the key is still held.
  expect((await acquire(url, "kept")).status).toBe(409);
});
