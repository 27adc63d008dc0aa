/**
 * The contention ledger: many concurrent clients loop acquire → critical section →
 * release on a few keys, and every critical section is written down twice — in the
 * client's own view (who is inside right now) and in the store's clock (granted at,
 * released at, fence). The report counts every violation instead of asserting, so a
 * test can prove that a broken backend is caught as well as that a good one is clean.
 */
import type { Backend } from "../backend.ts";
import { keyIdOf, newToken } from "../keys.ts";
import type { Mode } from "../model.ts";

export interface ContentionOptions {
  workers: number;
  keys: number;
  /** Grants each worker tries to get (attempts are bounded at 50× this). */
  grantsPerWorker: number;
  /** Time spent inside the critical section. */
  holdMs: number;
  mode?: Mode;
  /** Shared mode: the semaphore limit and the permits each grant takes. */
  limit?: number;
  permits?: number;
  ttlMs?: number;
  tenant?: string;
  /** Wait in the backend's queue (Backend.acquireQueued) instead of trying once. */
  waitMs?: number;
}

export interface Section {
  key: string;
  fence: number;
  permits: number;
  acquiredAtMs: number;
  /** Store time of the release (or the expiry, if that came first). */
  endedAtMs: number;
}

export interface ContentionReport {
  grants: number;
  attempts: number;
  /** Times a client entered a critical section that the ledger saw as already full. */
  clientOverlaps: number;
  /** Pairs of store-clock intervals that overlap beyond the capacity of the key. */
  storeOverlaps: number;
  /** Fences that repeat or go backwards in grant order on a key. */
  fenceViolations: number;
  /** Releases that failed although the section was well within its TTL. */
  lostReleases: number;
  sections: Section[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runContention(backend: Backend, options: ContentionOptions): Promise<ContentionReport> {
  const mode = options.mode ?? "exclusive";
  const permits = mode === "shared" ? (options.permits ?? 1) : 1;
  const capacity = mode === "shared" ? (options.limit ?? Number.POSITIVE_INFINITY) : 1;
  const tenant = options.tenant ?? "ledger";
  const prefix = `ledger:${newToken()}`;
  const keys = await Promise.all(
    Array.from({ length: options.keys }, async (_, i) => {
      const key = `${prefix}:${i}`;
      return { key, keyId: await keyIdOf(tenant, key) };
    }),
  );
  const inside = new Map<string, number>();
  const report: ContentionReport = {
    grants: 0,
    attempts: 0,
    clientOverlaps: 0,
    storeOverlaps: 0,
    fenceViolations: 0,
    lostReleases: 0,
    sections: [],
  };

  async function worker(index: number): Promise<void> {
    let granted = 0;
    for (let attempt = 0; granted < options.grantsPerWorker && attempt < options.grantsPerWorker * 50; attempt++) {
      const target = keys[(index + attempt) % keys.length];
      if (!target) throw new Error("no keys");
      report.attempts++;
      const request = {
        tenant,
        key: target.key,
        keyId: target.keyId,
        token: newToken(),
        ttlMs: options.ttlMs ?? 10_000,
        mode,
        permits,
        limit: mode === "shared" ? (options.limit ?? null) : null,
      };
      const queued = options.waitMs !== undefined && backend.acquireQueued;
      const result = queued
        ? await queued.call(backend, request, { waitMs: options.waitMs ?? 0, signal: new AbortController().signal })
        : await backend.acquire(request);
      if (!result.ok) {
        await sleep(Math.random() * 2);
        continue;
      }
      granted++;
      report.grants++;
      const load = (inside.get(target.key) ?? 0) + permits;
      if (load > capacity) report.clientOverlaps++;
      inside.set(target.key, load);
      await sleep(options.holdMs);
      inside.set(target.key, (inside.get(target.key) ?? 0) - permits);
      const released = await backend.release({ tenant, keyId: target.keyId, token: result.token });
      if (!released.ok) report.lostReleases++;
      report.sections.push({
        key: target.key,
        fence: result.fence,
        permits,
        acquiredAtMs: result.acquiredAtMs,
        endedAtMs: Math.min(released.serverTimeMs, result.expiresAtMs),
      });
    }
  }

  await Promise.all(Array.from({ length: options.workers }, (_, i) => worker(i)));
  checkStoreLedger(report, capacity);
  return report;
}

/** Replays the sections per key in fence order and counts what the model forbids. */
function checkStoreLedger(report: ContentionReport, capacity: number): void {
  const byKey = new Map<string, Section[]>();
  for (const section of report.sections) byKey.set(section.key, [...(byKey.get(section.key) ?? []), section]);
  for (const sections of byKey.values()) {
    sections.sort((a, b) => a.fence - b.fence || a.acquiredAtMs - b.acquiredAtMs);
    for (let i = 1; i < sections.length; i++) {
      const previous = sections[i - 1];
      const current = sections[i];
      if (!previous || !current) continue;
      // Fences strictly increase, and a later fence is never granted earlier in store time.
      if (current.fence <= previous.fence || current.acquiredAtMs < previous.acquiredAtMs) report.fenceViolations++;
    }
    for (const section of sections) {
      // Store-clock intervals are half-open: [acquiredAt, endedAt).
      const load = sections
        .filter((other) => other.acquiredAtMs <= section.acquiredAtMs && section.acquiredAtMs < other.endedAtMs)
        .reduce((sum, other) => sum + other.permits, 0);
      if (load > capacity) report.storeOverlaps++;
    }
  }
}
