/**
 * A witness for a kill (the server's or its store's): just before the SIGKILL, a grant with
 * a lease long enough to outlive the restart; once the server answers again, that grant
 * must still be held and the key's next fence must be above it. The workloads' leases (hundreds of ms) have mostly
 * run out by the time a restart is done, so they alone would not show a forgotten grant.
 */
import type { Target } from "../driver/http.ts";
import { type Answer, call } from "../driver/http.ts";
import type { Fault } from "../faults/fault.ts";

export interface Witness {
  key: string;
  fenceBefore?: string;
  /** owns() after the restart; undefined: no answer. */
  heldAfter?: boolean;
  fenceAfter?: string;
  /** What went wrong, if the witness broke a promise. */
  problem?: string;
  /** Why there is no witness for this kill: no grant could be taken before it (nothing to check, nothing broken). */
  untaken?: string;
}

/** `kill` with a witness taken before its inject and checked after its heal; each lands in `witnesses`. */
export function witnessedKill(kill: Fault, target: Target, witnesses: Witness[]): Fault {
  let witness: Witness | undefined;
  let lockId: string | undefined;
  return {
    name: kill.name,
    async inject() {
      const name = `holdfast-proof:witness-${Date.now().toString(36)}-${witnesses.length}`;
      // Up to three tries, each on a key of its own (an unanswered try may hold its key): a
      // busy server (the Firestore emulator) can take longer than one request's deadline.
      let granted: Answer | undefined;
      for (let attempt = 0; attempt < 3 && granted?.status !== 200; attempt++) {
        witness = { key: attempt === 0 ? name : `${name}-${attempt}` };
        granted = await call(target, "/v1/locks/acquire", { key: witness.key, ttlMs: 60_000 });
      }
      witness ??= { key: name };
      witnesses.push(witness);
      lockId = typeof granted?.body.lockId === "string" ? granted.body.lockId : undefined;
      if (granted?.status === 200 && lockId) witness.fenceBefore = String(granted.body.fence);
      else witness.untaken = `no witness grant before the kill (status ${granted?.status ?? 0}, 3 tries)`;
      await kill.inject();
    },
    async heal() {
      await kill.heal();
      if (!witness || !lockId || witness.problem || witness.untaken) return;
      const owns = await answered(() => call(target, "/v1/locks/owns", { lockId }));
      if (owns.status === 200) witness.heldAfter = owns.body.owned === true;
      await call(target, "/v1/locks/release", { lockId });
      const next = await call(target, "/v1/locks/acquire", { key: witness.key, ttlMs: 1000 });
      if (next.status === 200) witness.fenceAfter = String(next.body.fence);
      if (witness.heldAfter !== true) witness.problem = "the grant answered before the kill was not held after it";
      else if (witness.fenceAfter === undefined || BigInt(witness.fenceAfter) <= BigInt(witness.fenceBefore ?? "0"))
        witness.problem = `the key's fence went from ${witness.fenceBefore} to ${witness.fenceAfter ?? "no grant"}`;
    },
  };
}

/**
 * The first answer that is not a 5xx or a lost connection, within 30 s (the recovery
 * timeout): a restarted store is up before the server has reconnected to it.
 */
async function answered(request: () => Promise<Answer>): Promise<Answer> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await request();
    if ((response.status !== 0 && response.status < 500) || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
