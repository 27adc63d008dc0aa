/**
 * A benchmark variant of the Worker (bench/worker-profile.bench.ts), never deployed: the
 * real Worker whose Durable Object keeps its state in memory only, with no storage write
 * and so no commit to wait for.
 */
import type { KeyState } from "@holdfast/shared";
import { LockObject } from "../../edge/src/durable-object/lock-object.ts";

export { default, RateLimitObject } from "../../edge/src/worker.ts";
export { LockObject };

/** The Durable Object without its storage write: what is left is the RPC and the lock logic. */
export class VolatileLockObject extends LockObject {
  protected override persist(_state: KeyState): void {}
}
