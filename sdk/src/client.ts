/** createClient: the service's operations, in the caller's clock, with the lease helpers. */
import { acquire } from "./acquire.ts";
import type { ClockEstimate } from "./clock.ts";
import { createContext } from "./context.ts";
import type { Client, ClientOptions, Holder, LockInfo, OwnsResult } from "./types.ts";

export function createClient(options: ClientOptions): Client {
  const ctx = createContext(options);
  const local = ctx.clock.toLocal;
  // Every operation takes `{ ...body, signal }`; owns and lookup answers lose the server's ok and serverTimeMs.
  const call = async <T>(path: string, { signal, ...body }: { signal?: AbortSignal }) =>
    (await ctx.request<T & { ok: boolean; serverTimeMs?: number }>(path, body, { signal })).body;
  const client: Client = {
    acquire: (acquireOptions) => acquire(ctx, acquireOptions),
    release: async (o) => ({ ok: (await call<{ ok: boolean }>("/v1/locks/release", o)).ok }),
    async extend(o) {
      const answer = await call<{ ok: boolean; expiresAtMs: number }>("/v1/locks/extend", o);
      return answer.ok ? { ok: true, expiresAtMs: local(answer.expiresAtMs) } : { ok: false };
    },
    async owns(o) {
      const { ok, serverTimeMs, ...owns } = await call<OwnsResult>("/v1/locks/owns", o);
      if (owns.owned) owns.expiresAtMs = local(owns.expiresAtMs);
      return owns;
    },
    async getByKey(o) {
      const { ok, serverTimeMs, ...info } = await call<LockInfo>("/v1/locks/lookup", o);
      info.holders = info.holders.map(
        (h): Holder => ({ ...h, acquiredAtMs: local(h.acquiredAtMs), expiresAtMs: local(h.expiresAtMs) }),
      );
      if (info.expiresAtMs !== null) info.expiresAtMs = local(info.expiresAtMs);
      return info;
    },
    readWrite: (key) => ({
      read: (rest) => client.acquire({ ...rest, key, mode: "shared" }),
      write: (rest) => client.acquire({ ...rest, key, mode: "exclusive" }),
    }),
    clock: ctx.clock.estimate,
    syncClock: ({ signal } = {}) =>
      ctx.request("/v1/time", undefined, { signal }).then(() => ctx.clock.estimate() as ClockEstimate),
  };
  return client;
}

/** Whether `lockId` still names a live grant. */
export const owns = async (client: Client, lockId: string): Promise<boolean> => (await client.owns({ lockId })).owned;

/** The key's holders, or null when nobody holds it. */
export const getByKey = async (client: Client, key: string): Promise<LockInfo | null> => {
  const info = await client.getByKey({ key });
  return info.locked ? info : null;
};
