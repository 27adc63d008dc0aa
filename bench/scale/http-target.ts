/**
 * The size bench's store reached over HTTP (a Durable Object behind `npm start`). HTTP
 * has no "queued" answer, so each waiter carries an idempotency key and a probe asks
 * again with the same key but another ttlMs and waitMs 0: while the first request sits
 * in the queue, the store answers the probe 400 (idempotency mismatch, spec §3); before it
 * arrives, 409 (locked), and nothing is left behind. So a waiter counts as queued only
 * once the store has said so, and the next is sent after: arrival order is known.
 */
import { newToken } from "@holdfast/shared";
import { type JsonClient, jsonClient } from "../http-client.ts";
import { type Outcome, type SizeTarget, TTL_MS, WAIT_MS } from "./target.ts";

type Answer = Awaited<ReturnType<JsonClient["post"]>>;

function outcomeOf({ status, body }: Answer): Outcome {
  if (status === 200) {
    return {
      kind: "granted",
      token: body.lockId as string,
      fence: Number(body.fence),
      serverTimeMs: body.serverTimeMs as number,
    };
  }
  if (status === 409) return { kind: "locked" };
  const error = (body.error ?? {}) as { code?: string; limit?: string };
  if (error.code === "CapacityExceeded") return { kind: "refused", bound: error.limit ?? "?" };
  return { kind: "error", code: error.code ?? "unknown", status };
}

const failed = (error: unknown): Outcome => ({ kind: "error", code: String(error), status: 0 });

/** `waiters`: how many requests may wait at once, each on a socket of its own. */
export function httpTarget(url: string, token: string, waiters: number): SizeTarget & { close(): void } {
  const client = jsonClient(url, token);
  // A connection of its own for each waiter: the first and the 10,000th pay the same.
  const waiting = jsonClient(url, token, { maxSockets: waiters + 16, keepAlive: false });
  const acquire = (body: object) => client.post("/v1/locks/acquire", { ttlMs: TTL_MS, ...body });
  return {
    acquire: (key, mode) => acquire({ key, mode }).then(outcomeOf, failed),
    lookup: async (key) => {
      const { body } = await client.post("/v1/locks/lookup", { key });
      const holders = (body.holders ?? []) as { fence: string }[];
      return { count: body.holderCount as number, fences: holders.map((h) => Number(h.fence)) };
    },
    enqueue(key) {
      const idempotencyKey = newToken();
      let answered = false;
      const answer = waiting
        .post("/v1/locks/acquire", { key, ttlMs: TTL_MS, waitMs: WAIT_MS, idempotencyKey })
        .then(outcomeOf, failed)
        .finally(() => {
          answered = true;
        });
      const queued = (async () => {
        while (!answered) {
          const probe = await acquire({ key, ttlMs: TTL_MS + 1, waitMs: 0, idempotencyKey });
          if (probe.status === 400) return;
          if (probe.status !== 409) throw new Error(`probe answered ${probe.status} ${JSON.stringify(probe.body)}`);
        }
      })();
      return { queued, answer };
    },
    release: async (_key, lockId) => {
      const { status, body } = await client.post("/v1/locks/release", { lockId });
      return { ok: status === 200, serverTimeMs: body.serverTimeMs as number };
    },
    close() {
      client.close();
      waiting.close();
    },
  };
}
