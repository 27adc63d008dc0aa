/**
 * A fault: something the proof can break and then mend. The schedule (schedule.ts) only
 * knows this shape, so a proxy mode, a killed process and a paused one are all the same
 * to it.
 */
import type { ManagedProcess } from "./process.ts";
import type { FaultProxy, ProxyMode } from "./proxy.ts";

export interface Fault {
  readonly name: string;
  /** Breaks something; resolves once the fault is in place. */
  inject(): Promise<void>;
  /** Mends it; resolves once the process or link is back (the service may still be recovering). */
  heal(): Promise<void>;
}

/** SIGKILL of the process group; healed by starting it again, same command, env and port. */
export function killFault(process: ManagedProcess): Fault {
  return { name: `kill ${process.name}`, inject: () => process.kill(), heal: () => process.start() };
}

/** SIGSTOP of the process group: it holds its sockets open and answers nothing until SIGCONT. */
export function pauseFault(process: ManagedProcess): Fault {
  return {
    name: `pause ${process.name}`,
    inject: async () => process.pause(),
    heal: async () => process.resume(),
  };
}

/** A proxy mode for the fault's duration, then `pass`. */
export function proxyFault(proxy: FaultProxy, mode: ProxyMode, name = `${mode.kind} ${proxy.name}`): Fault {
  return {
    name,
    inject: async () => proxy.setMode(mode),
    heal: async () => proxy.setMode({ kind: "pass" }),
  };
}
