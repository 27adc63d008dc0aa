/**
 * Each store of the size bench at its default bounds, opened fresh and closed after:
 * memory, Upstash, Neon and Firestore straight from Node (their stand-ins over the local
 * Redis and Postgres, the emulator), Durable Objects over HTTP behind `npm start`.
 */
import { Firestore } from "@google-cloud/firestore";
import { createMemoryBackend, newToken } from "@holdfast/shared";
import ws from "ws";
import { createNeonBackend } from "../../edge/src/neon/backend.ts";
import { setupSchema } from "../../edge/src/neon/schema/migrate.ts";
import { createUpstashBackend } from "../../edge/src/upstash/backend.ts";
import { createFirestoreBackend } from "../../functions/src/firestore/backend.ts";
import { DEMO_PROJECT, OFFLINE_ENV, startFirestoreEmulator } from "../../local/firestore-emulator.ts";
import { spawnNeonStandin } from "../../local/standins/spawn-neon.ts";
import { spawnUpstashStandin } from "../../local/standins/spawn-upstash.ts";
import { benchServer } from "../measure.ts";
import { httpTarget } from "./http-target.ts";
import { backendTarget, type SizeTarget, WAIT_MS } from "./target.ts";

export interface OpenStore {
  target: SizeTarget;
  close(): Promise<void>;
}

const POSTGRES_URL = process.env.POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const unique = () => newToken().replace(/[^A-Za-z0-9]/g, "");

export const STORES: Record<string, (waiters: number) => Promise<OpenStore>> = {
  memory: async () => ({ target: backendTarget(createMemoryBackend()), close: async () => {} }),

  upstash: async () => {
    const standin = await spawnUpstashStandin();
    const backend = createUpstashBackend({ url: standin.url, token: standin.token, prefix: `size-${unique()}` });
    return { target: backendTarget(backend), close: () => standin.stop() };
  },

  neon: async () => {
    const standin = await spawnNeonStandin(POSTGRES_URL);
    try {
      const connectionString = `postgres://postgres@${standin.wsProxy}/test`;
      const prefix = `hfs_${unique().toLowerCase().slice(0, 10)}_`;
      await setupSchema({ connectionString, prefix, localProxy: true });
      const backend = createNeonBackend({ connectionString, prefix, localProxy: true, webSocketConstructor: ws });
      return {
        target: backendTarget(backend),
        close: async () => {
          await backend.close?.();
          await standin.stop();
        },
      };
    } catch (error) {
      await standin.stop();
      throw error;
    }
  },

  firestore: async () => {
    Object.assign(process.env, OFFLINE_ENV);
    const emulator = await startFirestoreEmulator();
    const firestore = new Firestore({ projectId: DEMO_PROJECT, host: emulator.host, ssl: false });
    const backend = createFirestoreBackend({ firestore, collection: `size_${unique()}` });
    return {
      target: backendTarget(backend),
      // The emulator is stopped even when the backend's close hangs on waiters left behind.
      close: async () => {
        await Promise.race([backend.close?.(), new Promise((resolve) => setTimeout(resolve, 5_000))]).finally(() =>
          emulator.stop(),
        );
      },
    };
  },

  // The server holds each waiting request for up to WAIT_MS, not the default cap of 25 s.
  "durable-object": async (waiters) => {
    const { server, stop } = await benchServer({ HOLDFAST_WAIT_CAP_MS: String(WAIT_MS) });
    const target = httpTarget(server.url, "bench", waiters);
    return {
      target,
      close: async () => {
        target.close();
        await stop();
      },
    };
  },
};
