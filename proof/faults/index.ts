/** proof/faults: what the proof runner needs to break a deployment on a schedule and mend it. */
export { type DeploymentParts, faultCatalog } from "./catalog.ts";
export { type ClockShift, clockShift } from "./clock.ts";
export { type Fault, killFault, pauseFault, proxyFault } from "./fault.ts";
export { ManagedProcess, type ProcessSpec } from "./process.ts";
export { type FaultProxy, type ProxyMode, type ProxyStats, startFaultProxy } from "./proxy.ts";
export { httpReady, postgresReady, redisReady } from "./ready.ts";
export { formatFaultReport } from "./report.ts";
export { type FaultRecord, type FaultReport, type FaultRun, faultRun } from "./run.ts";
export { formatSchedule, planSchedule, type ScheduledFault, type ScheduleOptions } from "./schedule.ts";
export { type ThrowawayStore, throwawayFirestore, throwawayPostgres, throwawayRedis } from "./stores.ts";
export { faultDuring, faultEnd } from "./windows.ts";
