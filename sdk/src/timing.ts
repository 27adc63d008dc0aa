/** Clocks, timers and abort helpers shared by the SDK. Web-standard APIs only. */
import { LockError } from "./errors.ts";

/** Elapsed-time clock: immune to wall-clock jumps, used for every deadline. */
export const monotonic = (): number => performance.now();

/** The caller's wall clock, used only to report times and estimate the offset. */
export const wall = (): number => Date.now();

/** The error every cancelled operation rejects with; the signal's reason is its cause. */
export const abortedBy = (signal: AbortSignal): LockError =>
  new LockError("Aborted", "operation aborted", { cause: signal.reason });

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedBy(signal);
}

/**
 * A timer that does not keep a Node/Bun/Deno process alive on its own: a lease is
 * background bookkeeping, never a reason for a finished program to hang.
 */
export function backgroundTimer(run: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer = setTimeout(run, ms); // a negative delay runs at once
  (timer as { unref?: () => void }).unref?.(); // Node, Bun
  (globalThis as { Deno?: { unrefTimer?: (id: unknown) => void } }).Deno?.unrefTimer?.(timer);
  return timer;
}

/** Resolves after `ms`; rejects with Aborted the moment `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    throwIfAborted(signal);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedBy(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
