/**
 * A fault schedule from a seed: the same seed, duration and kinds give the same timeline,
 * so a run that found something can be run again with the same faults at the same times.
 * Faults do not overlap, and each is followed by a quiet gap, so that each one's recovery
 * is measured on its own; the last one heals before the run ends.
 */
import { random as seeded } from "../random.ts";

export interface ScheduledFault {
  /** From the start of the run. */
  startMs: number;
  durationMs: number;
  kind: string;
}

export interface ScheduleOptions {
  seed: number;
  /** The run's length: every fault heals before it. */
  durationMs: number;
  /** Names of faults to choose from, each equally likely (e.g. "kill-server", "pause-store"). */
  kinds: readonly string[];
  /** Fault lengths, uniform in [min, max]. Defaults: 500 ms, 3 s. */
  minFaultMs?: number;
  maxFaultMs?: number;
  /** Quiet time before each fault, uniform in [min, max]. Defaults: 1 s, 4 s. */
  minGapMs?: number;
  maxGapMs?: number;
}

export function planSchedule(options: ScheduleOptions): ScheduledFault[] {
  const { seed, durationMs, kinds } = options;
  if (kinds.length === 0) return [];
  const random = seeded(seed);
  const between = (min: number, max: number) => Math.round(min + random() * (max - min));
  const schedule: ScheduledFault[] = [];
  let at = 0;
  for (;;) {
    const startMs = at + between(options.minGapMs ?? 1000, options.maxGapMs ?? 4000);
    const fault = between(options.minFaultMs ?? 500, options.maxFaultMs ?? 3000);
    const kind = kinds[Math.floor(random() * kinds.length)] as string;
    if (startMs + fault > durationMs) return schedule;
    schedule.push({ startMs, durationMs: fault, kind });
    at = startMs + fault;
  }
}

/** The timeline as the proof prints it, seed first, so that the report can be reproduced. */
export function formatSchedule(seed: number, schedule: readonly ScheduledFault[]): string {
  const lines = schedule.map(
    (fault) =>
      `  at ${(fault.startMs / 1000).toFixed(3)} s for ${(fault.durationMs / 1000).toFixed(3)} s: ${fault.kind}`,
  );
  return [`fault schedule, seed ${seed}: ${schedule.length} fault(s)`, ...lines].join("\n");
}
