/**
 * `--store NAME --faults`: the local server as a ManagedProcess (so that it can be killed
 * and started again on the same port, with the same data directory) behind a client-side
 * fault proxy; the workloads talk to the proxy. For a store outside the server (upstash,
 * neon, firestore) the server's store is a throwaway one behind a fault proxy of its own
 * (store-under-fault.ts). Its `faults` apply a schedule planned from the run's seed
 * (printed with it) and judge the histories by fault-verdict.ts.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort } from "../../local/firestore-emulator.ts";
import { call, type Fetch } from "../driver/http.ts";
import { faultCatalog } from "../faults/catalog.ts";
import { ManagedProcess } from "../faults/process.ts";
import { startFaultProxy } from "../faults/proxy.ts";
import { httpReady } from "../faults/ready.ts";
import { type FaultReport, type FaultRun, faultRun } from "../faults/run.ts";
import { planSchedule, type ScheduledFault } from "../faults/schedule.ts";
import { faultEnd } from "../faults/windows.ts";
import { judgeFaults } from "./fault-verdict.ts";
import { type Witness, witnessedKill } from "./kill-witness.ts";
import { STORES, type StoreName, stopEmulator } from "./local-stores.ts";
import type { Faults } from "./runner.ts";
import { startStoreUnderFault, storeFaultKinds } from "./store-under-fault.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The kinds every local run can mix in: the server's crash, and a client's lost or doubled request. */
export const LOCAL_FAULT_KINDS = ["kill-server", "drop-response", "duplicate-request"];

/** The kinds `name` mixes in by default: the ones above and its store's (store-under-fault.ts). */
export function faultKinds(name: StoreName): string[] {
  return [...LOCAL_FAULT_KINDS, ...storeFaultKinds(name)];
}

export interface FaultPlan {
  /** How long the schedule runs; faults left when the workloads end are skipped. */
  durationMs: number;
  /** Default faultKinds(store); a kind the store does not have is refused before anything starts. */
  kinds?: readonly string[];
  /** A schedule of one's own instead of one planned from the seed (tests). */
  schedule?: ScheduledFault[];
  recoveryTimeoutMs?: number;
}

export interface FaultedStore {
  url: string;
  token: string;
  /** The workloads' fetch: backs off after a lost connection, so a client outlasts a restart. */
  fetch: Fetch;
  settings: string[];
  faults: Faults;
  stop(): Promise<void>;
}

export async function startFaultedStore(name: StoreName, dataDir: string, plan: FaultPlan): Promise<FaultedStore> {
  const kinds = plan.kinds ?? faultKinds(name);
  const unknown = kinds.filter((kind) => !faultKinds(name).includes(kind));
  if (unknown.length > 0)
    throw new Error(`no fault ${unknown.join(", ")} for ${name}; it has: ${faultKinds(name).join(", ")}`);
  const token = `proof-${randomUUID()}`;
  mkdirSync(dataDir, { recursive: true });
  const side = await startStoreUnderFault(name);
  // A fixed port: a restart must come back where the proxy points.
  const port = await freePort().catch(async (error: unknown) => {
    await side?.stop();
    throw error;
  });
  const server = new ManagedProcess({
    name: "server",
    command: process.execPath,
    args: ["--import", "tsx/esm", STORES[name].script],
    cwd: root,
    env: {
      ...STORES[name].env,
      ...side?.env,
      PORT: String(port),
      HOLDFAST_TOKEN: token,
      HOLDFAST_TOKENS: "",
      HOLDFAST_DATA_DIR: dataDir,
      HOLDFAST_RATE_LIMITS: '{"*":null}',
    },
    ready: () => httpReady(`http://127.0.0.1:${port}/health`),
    readyTimeoutMs: 120_000,
  });
  // What a failed start leaves (the emulator has a group of its own) goes before the error does.
  const abandon = async (error: unknown): Promise<never> => {
    await server.stop();
    await stopEmulator(dataDir);
    await side?.stop();
    throw error;
  };
  await server.start().catch(abandon);
  const proxy = await startFaultProxy({ name: "server", target: { port } }).catch(abandon);
  const stop = async () => {
    await proxy.close();
    await server.stop(15_000);
    await stopEmulator(dataDir);
    await side?.stop();
  };
  const catalog = faultCatalog({
    server,
    clientProxy: proxy,
    ...(side ? { store: side.store.process, storeProxy: side.proxy } : {}),
  });
  // Only the store's fair kinds (the Firestore emulator's kill is not one).
  for (const kind of Object.keys(catalog)) if (!faultKinds(name).includes(kind)) delete catalog[kind];
  const witnesses: Witness[] = [];
  // Straight to the server: the witness is about the restart, not the proxy.
  const direct = { url: `http://127.0.0.1:${port}`, token, timeoutMs: 5000 };
  for (const kill of ["kill-server", "kill-store"]) {
    const fault = catalog[kill];
    if (fault) catalog[kill] = witnessedKill(fault, direct, witnesses);
  }
  let probes = 0;
  // A fresh key each time: granted means the server answers and its store takes writes.
  const probe = async () =>
    (
      await call({ url: proxy.url, token, timeoutMs: 2000 }, "/v1/locks/acquire", {
        key: `holdfast-proof:probe-${randomUUID()}-${probes++}`,
        ttlMs: 1000,
      })
    ).status === 200;
  let run: FaultRun | undefined;
  const faults: Faults = {
    async start(context) {
      // A run of several rounds starts and stops the schedule once a round: each round's witnesses are its own.
      witnesses.length = 0;
      const schedule =
        plan.schedule ??
        planSchedule({
          seed: context.seed,
          durationMs: plan.durationMs,
          kinds,
          minGapMs: 500,
          maxGapMs: 2500,
          maxFaultMs: 2000,
        });
      run = faultRun({
        seed: context.seed,
        schedule,
        faults: catalog,
        probe,
        ...(plan.recoveryTimeoutMs === undefined ? {} : { recoveryTimeoutMs: plan.recoveryTimeoutMs }),
        log: context.log,
      });
      await run.start();
    },
    stop: async () => ({ report: await run?.stop(), witnesses: [...witnesses] }),
    mayBeDuplicated: (stopped) => {
      const { report } = stopped as { report: FaultReport };
      const doubling = report.records.filter((record) => record.kind === "duplicate-request");
      return (op) => doubling.some((record) => record.injectedAt <= op.completeMs && op.invokeMs <= faultEnd(record));
    },
    judge: (stopped, histories) => {
      const { report, witnesses } = stopped as { report: FaultReport; witnesses: Witness[] };
      return judgeFaults(report, histories, witnesses);
    },
  };
  return {
    url: proxy.url,
    token,
    fetch: backingOff,
    settings: [
      // No ports: the report reads the same on every run.
      `the server (\`${STORES[name].command}\`'s entry) on a fixed port, behind a client-side TCP fault proxy the workloads talk to`,
      ...(side?.settings ?? []),
      `faults from the seed among: ${kinds.join(", ")}`,
    ],
    faults,
    stop,
  };
}

/**
 * A lost connection answers in microseconds: without a pause, the workloads would spend
 * every attempt while the server restarts and end before it is back, and their histories
 * would not span the restart. The pause comes after the failure, so the op stays unknown.
 */
const backingOff: Fetch = async (url, init) => {
  try {
    return await fetch(url, init);
  } catch (error) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    throw error;
  }
};
