/**
 * The store side of `--store NAME --faults`: a throwaway store of the proof's own (a
 * ManagedProcess, so that it can be killed and paused) behind a TCP fault proxy, and the
 * env that points the server at the proxy. The stand-ins (upstash, neon) and the Functions
 * Framework (firestore) then reach their store only through the link the proof breaks.
 * Memory and Durable Objects keep their data inside the server's process: no store side.
 */
import { type FaultProxy, startFaultProxy } from "../faults/proxy.ts";
import { type ThrowawayStore, throwawayFirestore, throwawayPostgres, throwawayRedis } from "../faults/stores.ts";
import type { StoreName } from "./local-stores.ts";

export interface StoreUnderFault {
  /** Added to the server's env. */
  env: Record<string, string>;
  store: ThrowawayStore;
  proxy: FaultProxy;
  /** The store fault kinds that are fair for this store. */
  kinds: string[];
  settings: string[];
  /** The proxy, then the store (its process group) and its files. */
  stop(): Promise<void>;
}

interface StoreSide {
  start(): Promise<ThrowawayStore>;
  /** The server's env, given the store's URL with the proxy's host and port in it. */
  env(viaProxy: string): Record<string, string>;
  kinds: string[];
  settings: string[];
}

const LINK_FAULTS = ["latency-store", "blackhole-store", "reset-store"];

const SIDES: Partial<Record<StoreName, StoreSide>> = {
  // Redis (AOF, appendfsync always) and Postgres (fsync on) keep every acknowledged write
  // through a SIGKILL: a kill is a fault they must survive.
  upstash: {
    start: () => throwawayRedis(),
    // Emptied: a hosted Upstash named in the caller's shell would take the throwaway's place.
    env: (url) => ({ REDIS_URL: url, UPSTASH_REDIS_REST_URL: "", UPSTASH_REDIS_REST_TOKEN: "" }),
    kinds: ["kill-store", "pause-store", ...LINK_FAULTS],
    settings: ["a throwaway redis-server (append-only file, appendfsync always)"],
  },
  neon: {
    start: () => throwawayPostgres(),
    // Same user and database (postgres) as the throwaway's own URL; DATABASE_URL emptied,
    // or a Neon named in the caller's shell would take the throwaway's place.
    env: (url) => ({ POSTGRES_URL: url, DATABASE_URL: "" }),
    kinds: ["kill-store", "pause-store", ...LINK_FAULTS],
    settings: ["a throwaway Postgres cluster (fsync on; a kill takes the postmaster and its backends)"],
  },
  firestore: {
    start: () => throwawayFirestore(),
    env: (host) => ({ FIRESTORE_EMULATOR_HOST: host }),
    kinds: ["pause-store", ...LINK_FAULTS],
    settings: [
      "a throwaway Firestore emulator",
      "no kill-store: the emulator keeps its documents in memory only, so a kill would lose acknowledged grants, a promise it was never asked to keep",
    ],
  },
};

/** The store fault kinds `--faults` can mix in for `name` (none for memory and durable-object). */
export function storeFaultKinds(name: StoreName): string[] {
  return SIDES[name]?.kinds ?? [];
}

/** Undefined for a store that lives inside the server (memory, durable-object). */
export async function startStoreUnderFault(name: StoreName): Promise<StoreUnderFault | undefined> {
  const side = SIDES[name];
  if (!side) return undefined;
  const store = await side.start();
  let proxy: FaultProxy;
  try {
    proxy = await startFaultProxy({ name: store.process.name, target: { port: store.port } });
  } catch (error) {
    await store.remove();
    throw error;
  }
  const [first, ...rest] = side.settings;
  return {
    env: side.env(store.url.replace(`127.0.0.1:${store.port}`, `127.0.0.1:${proxy.port}`)),
    store,
    proxy,
    kinds: side.kinds,
    settings: [`${first}, behind a TCP fault proxy between it and the server`, ...rest],
    async stop() {
      await proxy.close();
      await store.remove();
    },
  };
}
