/**
 * Leader election (`holdfast/election`): campaign for `key` until resigned. The leader holds an auto-extended
 * lease; its term is the grant's fence, so a newer leader always has a larger term and
 * the resources it writes to can refuse a deposed leader's stale term.
 */
import { sleep } from "./timing.ts";
import type { Campaign, CampaignOptions, Client, Lock } from "./types.ts";

/** Pause after a failed attempt (service unreachable, …) before campaigning again. */
const FAILURE_PAUSE_MS = 1000;

export function campaign(client: Client, key: string, options: CampaignOptions): Campaign {
  const { ttlMs, onElected, onDemoted, onError = (error) => console.error("holdfast: campaign", error) } = options;
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([stop.signal, options.signal]) : stop.signal;
  let leader: Lock | undefined;
  // Callbacks are the caller's code: their failures are reported, never left unhandled,
  // and a failing error handler cannot stop the campaign either.
  const report = async (error: unknown) => {
    try {
      await onError(error);
    } catch {}
  };
  const safely = async (callback: () => unknown) => {
    try {
      await callback();
    } catch (error) {
      await report(error);
    }
  };
  /** Resolves when the term ends (lease lost or campaign stopped); no listener stays on either signal. */
  const ended = (lock: Lock) =>
    new Promise((resolve) => {
      const either = AbortSignal.any([lock.signal, signal]);
      if (either.aborted) resolve(0);
      else either.addEventListener("abort", resolve, { once: true });
    });

  const run = async () => {
    while (!signal.aborted) {
      try {
        const lock = await client.acquire({
          key,
          ...(ttlMs && { ttlMs }),
          waitMs: Infinity,
          autoExtend: true,
          signal,
        });
        if (!lock.ok) continue;
        leader = lock;
        await safely(() => onElected(lock.fence, lock));
        await ended(lock);
        leader = undefined;
        // Demoted first, then the key freed (when resigned; a lost lease has nothing to
        // free): the next leader is elected only after this one has stood down.
        // Why the term ended: the lease's loss, or the campaign's own end (resigned, or its signal).
        await safely(() => onDemoted?.(lock.signal.aborted ? lock.signal.reason : signal.reason));
        await lock.release().catch(report);
      } catch (error) {
        if (signal.aborted) break;
        await report(error);
        await sleep(FAILURE_PAUSE_MS, signal).catch(() => {});
      }
    }
  };
  // Nothing escapes the loop: a leader still holding the key when it ends gives it back.
  const done = run()
    .catch(report)
    .finally(() => leader?.release().catch(report));

  return {
    get leader() {
      return leader;
    },
    async resign() {
      stop.abort();
      await done;
    },
  };
}
