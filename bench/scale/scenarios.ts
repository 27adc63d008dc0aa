/**
 * The two hostile sizes of rule 9 on one store, with the checks that make them a proof
 * rather than a timing: no fence reused, no lost holder, no overlap, order kept, no 5xx.
 */
import { newToken } from "@holdfast/shared";
import type { Outcome, SizeTarget } from "./target.ts";

const PARALLEL = 16;

async function inParallel<T>(count: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) results[i] = await task(i);
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return results;
}

/** "1,000 granted, 4,000 refused (holders)": answers counted by what they were. */
export function tally(outcomes: Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const label = o.kind === "refused" ? `refused (${o.bound})` : o.kind === "error" ? `${o.status} ${o.code}` : o.kind;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return [...counts].map(([label, count]) => `${count.toLocaleString("en")} ${label}`).join(", ");
}

const fiveXX = (outcomes: Outcome[]) => outcomes.filter((o) => o.kind === "error" && o.status >= 500).length;

export interface HoldersResult {
  answers: string;
  seconds: number;
  exclusiveThen: string;
  listed: number;
  granted: number;
  /** Every check that failed, in words; empty when all held. */
  failures: string[];
}

/** One key asked for `asked` shared holders, then an exclusive acquire, then a lookup. */
export async function holders(target: SizeTarget, asked: number): Promise<HoldersResult> {
  const key = `size:holders:${newToken()}`;
  const started = performance.now();
  const outcomes = await inParallel(asked, () => target.acquire(key, "shared"));
  const seconds = (performance.now() - started) / 1000;
  console.error(`    ${tally(outcomes)} in ${seconds.toFixed(1)} s`);
  const exclusive = await target.acquire(key, "exclusive");
  const view = await target.lookup(key);
  const fences = outcomes.flatMap((o) => (o.kind === "granted" ? [o.fence] : []));
  const granted = new Set(fences);
  const failures: string[] = [];
  if (granted.size !== fences.length) failures.push(`${fences.length - granted.size} fences reused`);
  if (view.count !== fences.length) failures.push(`lookup lists ${view.count} of ${fences.length} grants`);
  if (view.fences.some((f) => !granted.has(f))) failures.push("lookup lists a fence never granted");
  if (exclusive.kind !== "locked") failures.push(`an exclusive acquire was answered ${tally([exclusive])}`);
  if (fiveXX(outcomes) > 0) failures.push(`${fiveXX(outcomes)} 5xx`);
  return {
    answers: tally(outcomes),
    seconds,
    exclusiveThen: tally([exclusive]),
    listed: view.count,
    granted: fences.length,
    failures,
  };
}

export interface WaitersResult {
  answers: string;
  served: number;
  enqueueSeconds: number;
  releaseMs: number;
  serveAllSeconds: number;
  failures: string[];
}

interface Served {
  /** The waiter's place in arrival order. */
  index: number;
  fence: number;
  serverTimeMs: number;
  /** Client clock: the grant arrived, its release was sent. */
  grantedAt: number;
  releasingAt: number;
  releaseServerTimeMs: number;
}

/**
 * A key with an exclusive holder and `asked` exclusive waiters, sent one after another
 * (each once the store has it queued), each releasing as soon as it is served; then the
 * holder's release, timed, and the wait until every waiter has its answer.
 */
export async function waiters(target: SizeTarget, asked: number): Promise<WaitersResult> {
  const key = `size:waiters:${newToken()}`;
  const holder = await target.acquire(key, "exclusive");
  if (holder.kind !== "granted") throw new Error(`the holder was answered ${tally([holder])}`);
  const served: Served[] = [];
  const releaseErrors: string[] = [];
  const answers: Promise<Outcome>[] = [];
  const enqueueStarted = performance.now();
  for (let index = 0; index < asked; index++) {
    const { queued, answer } = target.enqueue(key);
    answers.push(
      answer.then(async (outcome) => {
        if (outcome.kind !== "granted") return outcome;
        const entry = { index, fence: outcome.fence, serverTimeMs: outcome.serverTimeMs, grantedAt: performance.now() };
        const releasingAt = performance.now();
        const released = await target.release(key, outcome.token);
        if (!released.ok) releaseErrors.push(`waiter ${index}'s release was refused`);
        served.push({ ...entry, releasingAt, releaseServerTimeMs: released.serverTimeMs });
        return outcome;
      }),
    );
    await queued;
    // A full run takes minutes: say how far it is.
    if ((index + 1) % 2_000 === 0) console.error(`    ${index + 1} queued`);
  }
  const enqueueSeconds = (performance.now() - enqueueStarted) / 1000;
  const releaseStarted = performance.now();
  const released = await target.release(key, holder.token);
  const releaseMs = performance.now() - releaseStarted;
  const outcomes = await Promise.all(answers);
  const serveAllSeconds = (performance.now() - releaseStarted) / 1000;
  // `served` is in the order the grants reached the client; each grant comes only after
  // the previous holder's release, so that is the order the store granted them.
  served.sort((a, b) => a.grantedAt - b.grantedAt);
  const failures = [...releaseErrors];
  if (!released.ok) failures.push("the holder's release was refused");
  let previous = { fence: holder.fence, index: -1, releasingAt: releaseStarted, time: released.serverTimeMs };
  let outOfOrder = 0;
  let overlaps = 0;
  let fencesBack = 0;
  for (const s of served) {
    if (s.fence <= previous.fence) fencesBack++;
    if (s.index < previous.index) outOfOrder++;
    // A grant before the previous holder's release was sent, or before it in the store's clock, overlapped it.
    if (s.grantedAt < previous.releasingAt || s.serverTimeMs < previous.time) overlaps++;
    previous = { fence: s.fence, index: s.index, releasingAt: s.releasingAt, time: s.releaseServerTimeMs };
  }
  if (fencesBack > 0) failures.push(`${fencesBack} fences not above the previous grant's`);
  if (outOfOrder > 0) failures.push(`${outOfOrder} waiters served before one that arrived earlier`);
  if (overlaps > 0) failures.push(`${overlaps} grants overlapped the previous holder`);
  if (fiveXX(outcomes) > 0) failures.push(`${fiveXX(outcomes)} 5xx`);
  const lost = outcomes.filter((o) => o.kind === "locked").length;
  if (lost > 0) failures.push(`${lost} waiters never served within their wait`);
  return { answers: tally(outcomes), served: served.length, enqueueSeconds, releaseMs, serveAllSeconds, failures };
}
