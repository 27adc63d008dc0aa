/**
 * Applies a fault schedule around a workload: `start()` before it, `stop()` after. Each
 * fault is injected at its time and healed after its duration (at once, if the run stops
 * first); after each heal, `probe` is polled until it succeeds, and the time from the
 * fault's end to that success is its recovery time (a killed server's restart included).
 * The next fault waits for this one's recovery (up to the recovery timeout): a service
 * still coming back when the next fault hits would be judged "not recovered" though it
 * may well be on its way. A heal or a recovery that takes long (a restart, a store
 * client's reconnect backoff) delays the rest of the schedule by as much, so that every
 * fault keeps its length and the quiet gap before it. Stamps are on the history's
 * clock (performance.now() unless `now` says otherwise), so that the checker can tell
 * which answers came during a fault.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Fault } from "./fault.ts";
import { formatSchedule, type ScheduledFault } from "./schedule.ts";

export interface FaultRecord {
  kind: string;
  /** The fault's own name, e.g. "kill server". */
  name: string;
  plannedStartMs: number;
  plannedDurationMs: number;
  /** When inject() was called. */
  injectedAt: number;
  /** When heal() was called: the fault's end. */
  endedAt?: number;
  /** When heal() resolved: the process or link is back. */
  healedAt?: number;
  /** The first successful probe after the heal. Unset: no probe, or none succeeded in time. */
  recoveredAt?: number;
  /** recoveredAt − endedAt. */
  recoveryMs?: number;
  /** What inject() or heal() threw. */
  error?: string;
}

export interface FaultReport {
  seed: number;
  schedule: ScheduledFault[];
  startedAt: number;
  stoppedAt: number;
  records: FaultRecord[];
}

export interface FaultRun {
  start(): Promise<void>;
  /** Heals what is injected, skips what is left, waits for recovery probes, and reports. */
  stop(): Promise<FaultReport>;
}

export interface FaultRunOptions {
  seed: number;
  schedule: ScheduledFault[];
  /** The fault to apply for each kind in the schedule. */
  faults: Record<string, Fault>;
  /** Resolves true when the service answers as it should (a throw counts as false). */
  probe?: () => Promise<boolean>;
  probeIntervalMs?: number;
  /** How long a recovery is waited for before it is recorded as not having happened. Default 30 s. */
  recoveryTimeoutMs?: number;
  now?: () => number;
  log?: (line: string) => void;
}

export function faultRun(options: FaultRunOptions): FaultRun {
  const now = options.now ?? (() => performance.now());
  const log = options.log ?? ((line: string) => console.log(line));
  const missing = options.schedule.filter((fault) => !options.faults[fault.kind]).map((fault) => fault.kind);
  if (missing.length > 0) throw new Error(`no fault given for kind(s): ${[...new Set(missing)].join(", ")}`);
  const aborted = new AbortController();
  const records: FaultRecord[] = [];
  const recoveries: Promise<void>[] = [];
  let startedAt = Number.NaN;
  let loop: Promise<void> = Promise.resolve();
  /** How late the schedule runs, from heals that took longer than planned. */
  let lateMs = 0;

  /**
   * Until `at` on the run's clock; false if the run stopped first. In a loop because a
   * timer may fire a millisecond or two early by performance.now() (libuv's cached loop
   * time), and a fault must last at least its planned duration.
   */
  async function waitUntil(at: number): Promise<boolean> {
    while (now() < at) {
      if (aborted.signal.aborted) return false;
      await sleep(Math.ceil(at - now()), undefined, { signal: aborted.signal }).catch(() => undefined);
    }
    return !aborted.signal.aborted;
  }

  async function recover(record: FaultRecord, endedAt: number): Promise<void> {
    const probe = options.probe;
    if (!probe) return;
    const deadline = endedAt + (options.recoveryTimeoutMs ?? 30_000);
    while (now() < deadline) {
      if (await probe().catch(() => false)) {
        record.recoveredAt = now();
        record.recoveryMs = record.recoveredAt - endedAt;
        return;
      }
      await sleep(options.probeIntervalMs ?? 50);
    }
  }

  async function apply(planned: ScheduledFault, fault: Fault): Promise<void> {
    const record: FaultRecord = {
      kind: planned.kind,
      name: fault.name,
      plannedStartMs: planned.startMs,
      plannedDurationMs: planned.durationMs,
      injectedAt: now(),
    };
    records.push(record);
    const fail = (error: unknown) => {
      record.error = `${record.error ? `${record.error}; ` : ""}${error instanceof Error ? error.message : String(error)}`;
    };
    log(`fault: ${fault.name} at ${((record.injectedAt - startedAt) / 1000).toFixed(3)} s`);
    await fault.inject().catch(fail);
    // Heal after the planned duration, or at once if the run stops: nothing stays broken after it.
    await waitUntil(record.injectedAt + planned.durationMs);
    const endedAt = now();
    record.endedAt = endedAt;
    await fault.heal().catch(fail);
    record.healedAt = now();
    log(`healed: ${fault.name} at ${((record.healedAt - startedAt) / 1000).toFixed(3)} s`);
    const recovery = recover(record, endedAt);
    recoveries.push(recovery);
    await recovery;
    lateMs = Math.max(lateMs, now() - (startedAt + planned.startMs + planned.durationMs));
  }

  return {
    async start() {
      startedAt = now();
      log(formatSchedule(options.seed, options.schedule));
      loop = (async () => {
        for (const planned of options.schedule) {
          if (!(await waitUntil(startedAt + planned.startMs + lateMs))) return;
          await apply(planned, options.faults[planned.kind] as Fault);
        }
      })();
    },
    async stop() {
      aborted.abort();
      await loop;
      await Promise.all(recoveries);
      return { seed: options.seed, schedule: options.schedule, startedAt, stoppedAt: now(), records };
    },
  };
}
