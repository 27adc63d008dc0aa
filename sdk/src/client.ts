/** createClient: the service's operations, in the caller's clock, with the lease helpers. */
import { acquire } from "./acquire.ts";
import { campaign } from "./campaign.ts";
import { createContext } from "./context.ts";
import { LockError } from "./errors.ts";
import type { Client, ClientOptions, ExtendResult, Holder, LockInfo, OwnsResult } from "./types.ts";

type Timed<T> = T & { serverTimeMs: number };

export function createClient(options: ClientOptions): Client {
  const ctx = createContext(options);
  const { request, clock } = ctx;
  const local = clock.toLocal;
  const client: Client = {
    acquire: (acquireOptions) => acquire(ctx, acquireOptions),
    async release({ lockId, signal }) {
      const { body } = await request<{ ok: boolean }>("/v1/locks/release", { lockId }, { signal });
      return { ok: body.ok };
    },
    async extend({ lockId, ttlMs, signal }) {
      const { body } = await request<Timed<ExtendResult>>("/v1/locks/extend", { lockId, ttlMs }, { signal });
      return body.ok ? { ok: true, expiresAtMs: local(body.expiresAtMs) } : { ok: false };
    },
    async owns({ lockId, signal }) {
      const { body } = await request<Timed<OwnsResult>>("/v1/locks/owns", { lockId }, { signal });
      if (!body.owned) return { owned: false };
      const { key, mode, permits, fence, expiresAtMs } = body;
      return { owned: true, key, mode, permits, fence, expiresAtMs: local(expiresAtMs) };
    },
    async getByKey({ key, signal }) {
      const { body } = await request<Timed<LockInfo>>("/v1/locks/lookup", { key }, { signal });
      const holders = body.holders.map(
        (h): Holder => ({ ...h, acquiredAtMs: local(h.acquiredAtMs), expiresAtMs: local(h.expiresAtMs) }),
      );
      const { locked, fence, expiresAtMs, limit } = body;
      return { locked, holders, fence, expiresAtMs: expiresAtMs === null ? null : local(expiresAtMs), limit };
    },
    readWrite: (key) => ({
      read: (rest = {}) => client.acquire({ ...rest, key, mode: "shared" }),
      write: (rest = {}) => client.acquire({ ...rest, key, mode: "exclusive" }),
    }),
    campaign: (key, campaignOptions) => campaign(client, key, campaignOptions),
    clock: clock.estimate,
    async syncClock({ signal } = {}) {
      await request("/v1/time", undefined, { signal });
      const estimate = clock.estimate();
      if (!estimate) throw new LockError("Internal", "GET /v1/time carried no serverTimeMs");
      return estimate;
    },
  };
  return client;
}

/** Whether `lockId` still names a live grant. */
export const owns = async (client: Client, lockId: string): Promise<boolean> =>
  (await client.owns({ lockId })).owned;

/** The key's holders, or null when nobody holds it. */
export const getByKey = async (client: Client, key: string): Promise<LockInfo | null> => {
  const info = await client.getByKey({ key });
  return info.locked ? info : null;
};
