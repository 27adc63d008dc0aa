/**
 * Leader election: campaign for `key` until resigned. The leader holds an auto-extended
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
  // Callbacks are the caller's code: their failures are reported, never left unhandled.
  const safely = async (callback: () => unknown) => {
    try {
      await callback();
    } catch (error) {
      onError(error);
    }
  };
  const ended = (lock: Lock) =>
    new Promise((resolve) => {
      for (const s of [lock.signal, signal]) s.addEventListener("abort", resolve, { once: true });
      if (lock.signal.aborted || signal.aborted) resolve(0);
    });

  const run = async () => {
    while (!signal.aborted) {
      try {
        const lock = await client.acquire({
          key,
          ...(ttlMs && { ttlMs }),
          waitMs: Number.POSITIVE_INFINITY,
          autoExtend: true,
          signal,
        });
        if (!lock.ok) continue;
        leader = lock;
        await safely(() => onElected(lock.fence, lock));
        await ended(lock);
        leader = undefined;
        // Resigned: free the key now (lost: nothing to free).
        await lock.release().catch((error) => safely(() => onError(error)));
        await safely(() => onDemoted?.(lock.signal.reason));
      } catch (error) {
        if (signal.aborted) break;
        await safely(() => onError(error));
        await sleep(FAILURE_PAUSE_MS, signal).catch(() => {});
      }
    }
  };
  const done = run();

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
