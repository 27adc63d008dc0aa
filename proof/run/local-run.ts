/**
 * `--store NAME`: start that local store, run the proof against it over HTTP, stop all it
 * started: after the run, after a failure, and when the proof itself is interrupted.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readEmulatorRecord } from "../../local/firestore-local.ts";
import { firestoreRawRates, type RawRates } from "../../local/firestore-raw-rate.ts";
import type { Fetch } from "../driver/http.ts";
import { WORKLOADS } from "../driver/shapes.ts";
import { type FaultPlan, startFaultedStore } from "./faulted-store.ts";
import { type RunningStore, STORES, type StoreName, startStore } from "./local-stores.ts";
import type { ProofResult } from "./result.ts";
import { type Faults, runProof } from "./runner.ts";
import type { Size } from "./sizes.ts";

export interface LocalRunOptions {
  seed: number;
  size: Size;
  /** The flags that select the size, for the command that repeats the run. */
  sizeFlags: string;
  dataRoot: string;
  faults?: Faults;
  /** The server as a ManagedProcess behind a fault proxy, with a schedule from the seed (faulted-store.ts). */
  faultPlan?: FaultPlan;
  /** Rounds until this many grants (runner.ts). */
  grants?: number;
  log?: (line: string) => void;
}

const root = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const running = new Set<RunningStore>();
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    void Promise.allSettled([...running].map((store) => store.stop())).finally(() => process.exit(130));
  });
}

export async function runLocal(name: StoreName, options: LocalRunOptions): Promise<ProofResult> {
  const dataDir = join(options.dataRoot, name);
  let store: RunningStore;
  let faults = options.faults;
  let fetch: Fetch | undefined;
  if (options.faultPlan) {
    const faulted = await startFaultedStore(name, dataDir, options.faultPlan);
    faults = faulted.faults;
    fetch = faulted.fetch;
    store = faulted;
  } else store = await startStore(name, dataDir);
  running.add(store);
  try {
    options.log?.(`${name}: ${store.url}, ${store.settings.join("; ")}`);
    // Firestore's rate is set beside its emulator's own, measured before and after the workloads.
    const rawRates = name === "firestore" && !options.faultPlan ? () => emulatorRates(dataDir, options) : undefined;
    const before = await rawRates?.();
    const result = await runProof({
      target: { url: store.url, token: store.token, ...(fetch ? { fetch } : {}) },
      store: name,
      command: `npm run proof -- --store ${name} --seed ${options.seed}${options.sizeFlags}${faultFlags(options.faultPlan)}`,
      seed: options.seed,
      size: options.size,
      // Paths relative to the repository: the report reads the same on every machine.
      settings: [
        `started as \`${STORES[name].command}\``,
        `persistence: ${STORES[name].persistence}`,
        ...store.settings.map((line) => line.replaceAll(`${root}/`, "")),
      ],
      keyPrefix: "holdfast-proof:",
      dataDir,
      ...(options.grants === undefined ? {} : { grants: options.grants }),
      ...(faults ? { faults } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    const after = await rawRates?.();
    return before && after ? { ...result, storeRates: { before, after } } : result;
  } finally {
    await store.stop();
    running.delete(store);
  }
}

/**
 * The emulator `npm run start:firebase` started for this data directory, measured for 10 s
 * each way; undefined (and said) if it cannot be: a run's result never rests on it.
 */
async function emulatorRates(dataDir: string, options: LocalRunOptions): Promise<RawRates | undefined> {
  try {
    const emulator = readEmulatorRecord(join(dataDir, "firestore"));
    if (!emulator) throw new Error(`no Firestore emulator recorded under ${dataDir}`);
    const rates = await firestoreRawRates(emulator.host, options.size.keys * WORKLOADS.length);
    options.log?.(
      `firestore: the emulator's raw conditional updates: ${rates.serial.toFixed(0)}/s on one document, ${rates.parallel.toFixed(0)}/s on ${rates.documents} in parallel`,
    );
    return rates;
  } catch (error) {
    options.log?.(`firestore: the emulator's own pace was not measured: ${String(error)}`);
    return undefined;
  }
}

/** The flags that repeat a faulted run's schedule: the same seed, length and kinds. */
function faultFlags(plan: FaultPlan | undefined): string {
  if (!plan) return "";
  return ` --faults --fault-ms ${plan.durationMs}${plan.kinds ? ` --fault-kinds ${plan.kinds.join(",")}` : ""}`;
}
