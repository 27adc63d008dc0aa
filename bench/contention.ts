/**
 * The contention workload of the edge issue: N contenders on one key, each looping
 * acquire → hold → release. Measures handoff latency (release sent → next grant
 * received, matched by fence), grants/s and fairness (fewest / most grants).
 */
import { type JsonClient, percentile } from "./http-client.ts";

export interface ContentionResult {
  grants: number;
  grantsPerSecond: number;
  handoffP50: number;
  handoffP99: number;
  fewest: number;
  most: number;
  fairness: number;
}

export type Acquirer = (client: JsonClient, key: string, deadline: number) => Promise<Record<string, unknown> | null>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Server-side waiting: one request that the server answers when the key is handed over. */
export const waitingAcquirer: Acquirer = async (client, key, deadline) => {
  while (performance.now() < deadline) {
    const answer = await client.post("/v1/locks/acquire", { key, ttlMs: 10_000, waitMs: 5_000 });
    if (answer.status === 200) return answer.body;
  }
  return null;
};

/**
 * Client-side polling with the library world's defaults: 100 ms base delay, exponential
 * backoff, equal jitter (half fixed, half random), 5 s acquisition timeout.
 */
export const pollingAcquirer: Acquirer = async (client, key, deadline) => {
  const started = performance.now();
  for (let attempt = 0; performance.now() < deadline; attempt++) {
    const answer = await client.post("/v1/locks/acquire", { key, ttlMs: 10_000 });
    if (answer.status === 200) return answer.body;
    if (performance.now() - started > 5_000) return null; // AcquisitionTimeout: the caller starts over
    const delay = 100 * 2 ** attempt;
    await sleep(delay / 2 + Math.random() * (delay / 2));
  }
  return null;
};

export async function runContention(
  client: JsonClient,
  options: { contenders: number; seconds: number; holdMs: number; acquire: Acquirer },
): Promise<ContentionResult> {
  const key = `bench:${crypto.randomUUID()}`;
  const releaseSentAt = new Map<number, number>(); // fence released → when its release was sent
  const grantedAt = new Map<number, number>(); // fence → when its grant arrived
  const perContender = new Array<number>(options.contenders).fill(0);
  const started = performance.now();
  const deadline = started + options.seconds * 1000;

  async function contender(index: number): Promise<void> {
    while (performance.now() < deadline) {
      const grant = await options.acquire(client, key, deadline);
      if (!grant) continue;
      const fence = Number(grant.fence);
      grantedAt.set(fence, performance.now());
      perContender[index] = (perContender[index] ?? 0) + 1;
      await sleep(options.holdMs);
      releaseSentAt.set(fence, performance.now());
      await client.post("/v1/locks/release", { lockId: grant.lockId as string });
    }
  }

  await Promise.all(Array.from({ length: options.contenders }, (_, i) => contender(i)));
  const elapsed = (performance.now() - started) / 1000;
  const handoffs: number[] = [];
  for (const [fence, sentAt] of releaseSentAt) {
    const next = grantedAt.get(fence + 1);
    if (next !== undefined) handoffs.push(next - sentAt);
  }
  handoffs.sort((a, b) => a - b);
  const grants = perContender.reduce((a, b) => a + b, 0);
  const fewest = Math.min(...perContender);
  const most = Math.max(...perContender);
  return {
    grants,
    grantsPerSecond: grants / elapsed,
    handoffP50: percentile(handoffs, 50),
    handoffP99: percentile(handoffs, 99),
    fewest,
    most,
    fairness: most === 0 ? 0 : fewest / most,
  };
}
