/**
 * queue-size.bench.ts's steps for a backend timed as it is served, over HTTP: Durable
 * Objects (`npm start`), whose steps run inside workerd, and the memory backend as
 * `npm run start:node` serves it. A queued request cannot be timed apart from its wait
 * inside the server, so the enqueue is timed from sending the waiting request to the
 * store's word that it is queued (the probe of http-target.ts, one round trip more, the
 * same for the first and the nth), and the release is an HTTP release, against an HTTP
 * release with nobody waiting.
 */
import type { AcquireRequest } from "@holdfast/shared";
import { benchServer } from "../measure.ts";
import type { QueueSteps } from "../queue-size.bench.ts";
import { httpTarget } from "./http-target.ts";
import { type Outcome, WAIT_MS } from "./target.ts";

const MOST_WAITING = 10_000;

/** `script`: the server's entry (default `npm start`'s); `name`: the rows' label. */
export async function servedQueueSteps(name: string, sizes: number[], script?: string): Promise<QueueSteps> {
  const { server, stop } = await benchServer({ HOLDFAST_WAIT_CAP_MS: String(WAIT_MS) }, script);
  const target = httpTarget(server.url, "bench", MOST_WAITING);
  // The lockId each request was (or will be) granted, by the request's own token.
  const grants = new Map<string, Promise<Outcome>>();
  const lockIdOf = async (token: string) => {
    const outcome = await grants.get(token);
    if (outcome?.kind !== "granted") throw new Error(`not granted: ${JSON.stringify(outcome)}`);
    return outcome.token;
  };
  return {
    name,
    sizes,
    enqueue: async (request: AcquireRequest) => {
      const { queued, answer } = target.enqueue(request.key);
      grants.set(request.token, answer);
      await queued;
    },
    acquire: async (request) => {
      const outcome = target.acquire(request.key, "exclusive");
      grants.set(request.token, outcome);
      await lockIdOf(request.token);
    },
    ready: async (ref) => {
      await lockIdOf(ref.token);
    },
    release: async (ref) => {
      const lockId = await lockIdOf(ref.token);
      if (!(await target.release("", lockId)).ok) throw new Error("not released");
    },
    // The waiters a size leaves queued are served, one after another, each let go at once.
    // Not dropped: 10,000 waiting connections closed at once left workerd cancelling
    // "hung" requests, and a later request of the next round was answered 500.
    drain: async () => {
      for (const answer of grants.values()) {
        const outcome = await answer;
        if (outcome.kind === "granted") await target.release("", outcome.token);
      }
      grants.clear();
    },
    close: async () => {
      target.close();
      await stop();
    },
  };
}
