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
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([stop.signal, options.signal]) : stop.signal;
  let leader: Lock | undefined;
  // Callbacks are the caller's code: their failures are reported, never left unhandled.
  const report = options.onError ?? ((error: unknown) => console.error("holdfast: campaign", error));
  const call = async (callback: () => unknown) => {
    try {
      await callback();
    } catch (error) {
      report(error);
    }
  };

  const run = async () => {
    while (!signal.aborted) {
      try {
        const lock = await client.acquire({
          key,
          ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
          waitMs: Number.POSITIVE_INFINITY,
          autoExtend: true,
          signal,
        });
        if (!lock.ok) continue;
        leader = lock;
        await call(() => options.onElected(lock.fence, lock));
        if (!lock.signal.aborted && !signal.aborted) {
          await new Promise((resolve) => {
            lock.signal.addEventListener("abort", resolve, { once: true });
            signal.addEventListener("abort", resolve, { once: true });
          });
        }
        leader = undefined;
        await lock.release().catch(() => {}); // resigned: free the key now; lost: nothing to free
        await call(() => options.onDemoted?.(lock.signal.reason));
      } catch (error) {
        if (signal.aborted) break;
        await call(() => report(error));
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
