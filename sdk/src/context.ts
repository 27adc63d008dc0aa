/** What the client's parts share: options, the request function, the clock, telemetry. */
import { type ClockTracker, createClockTracker } from "./clock.ts";
import { createRequest, type Request } from "./http.ts";
import type { ClientOptions, LockEvent } from "./types.ts";

export interface Context {
  options: ClientOptions;
  request: Request;
  clock: ClockTracker;
  /** Sends a telemetry event; raw key and lockId only when the client opted in. */
  emit(event: LockEvent, key?: string, lockId?: string): void;
  /** Whether the current clock-skew excursion was already warned about. */
  skewWarned: boolean;
  /** Reports a release that failed where nobody can catch it (disposal, createLock's finally). */
  releaseFailed(error: unknown, lockId: string, key: string): void;
}

export function createContext(options: ClientOptions): Context {
  const clock = createClockTracker();
  return {
    options,
    clock,
    request: createRequest(options, clock),
    skewWarned: false,
    emit(event, key, lockId) {
      const hook = options.onEvent;
      if (!hook) return;
      if (options.includeRaw && key !== undefined) Object.assign(event, lockId ? { key, lockId } : { key });
      // A throwing (or rejecting) telemetry hook must never break a lock operation.
      Promise.resolve()
        .then(() => hook(event))
        .catch(() => {});
    },
    releaseFailed(error, lockId, key) {
      const hook = options.onReleaseError;
      // Keys and lockIds stay out of the default log line: they may be sensitive.
      if (!hook) console.error("holdfast: release failed; the lease ends at its TTL", error);
      else
        Promise.resolve()
          .then(() => hook(error, { lockId, key }))
          .catch(() => {});
    },
  };
}
