/**
 * The fault kinds of the proof, by the names its schedules use, for whichever parts of a
 * deployment it runs: a kind whose part is absent (no store process for a remote
 * deployment, say) is left out, so that planSchedule only chooses among faults that exist.
 */
import type { ClockShift } from "./clock.ts";
import { type Fault, killFault, pauseFault, proxyFault } from "./fault.ts";
import type { ManagedProcess } from "./process.ts";
import type { FaultProxy } from "./proxy.ts";

export interface DeploymentParts {
  server?: ManagedProcess;
  store?: ManagedProcess;
  /** Between the clients and the server (HTTP). */
  clientProxy?: FaultProxy;
  /** Between the server and its store. */
  storeProxy?: FaultProxy;
  /** The store link's latency fault. Default 200 ms ± 100 ms. */
  latency?: { ms: number; jitterMs: number };
  /** The server's clock (its env from clockShift()), and the shift. Default +5 s. */
  clock?: ClockShift;
  clockShiftMs?: number;
}

export function faultCatalog(parts: DeploymentParts): Record<string, Fault> {
  const faults: Record<string, Fault> = {};
  if (parts.server) faults["kill-server"] = killFault(parts.server);
  if (parts.store) {
    faults["kill-store"] = killFault(parts.store);
    faults["pause-store"] = pauseFault(parts.store);
  }
  const { storeProxy, clientProxy } = parts;
  if (storeProxy) {
    faults["latency-store"] = proxyFault(storeProxy, {
      kind: "latency",
      ...(parts.latency ?? { ms: 200, jitterMs: 100 }),
    });
    faults["blackhole-store"] = proxyFault(storeProxy, { kind: "blackhole" });
    faults["reset-store"] = proxyFault(storeProxy, { kind: "reset" });
  }
  if (clientProxy) {
    faults["drop-response"] = proxyFault(clientProxy, { kind: "drop-response" });
    faults["duplicate-request"] = proxyFault(clientProxy, { kind: "duplicate" });
  }
  if (parts.clock) faults["clock-shift"] = parts.clock.fault(parts.clockShiftMs ?? 5000);
  return faults;
}
