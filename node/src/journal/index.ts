/**
 * `npm run start:node`'s persistence: an append-only journal with group commit. A change
 * appends one record (the key's new state) to the current log; the records queued while
 * one fdatasync runs go to disk together in the next, and each save resolves only once its
 * record is durable, so the backend answers nothing that a crash could take back. The cost
 * of a change does not depend on how many keys there are. When the log outgrows both
 * compactAfterBytes and twice the last snapshot, a new generation starts: appends move to a new log at once, and a snapshot
 * of every key's record is written beside it in the background; then the old files go.
 * A log the writer could not repair after a failed write is never left for a new one: it
 * refuses every write until a restart recovers it.
 * At open, the journal is read back (recover.ts), expired holders are dropped, and a fresh
 * generation is written, so a restart never appends after a torn record and replays at most
 * one snapshot and the logs written since.
 */
import { mkdir, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type KeyState, type MemoryPersistence, pruneExpired } from "@holdfast/shared";
import { logName, syncDir } from "./files.ts";
import { LogWriter } from "./log-writer.ts";
import { encodeCommit, encodeLine, recordOfLine, type StoredRecord, toRecord, toState } from "./records.ts";
import { recover } from "./recover.ts";
import { removeBefore, writeSnapshot } from "./snapshot.ts";

export type { StoredRecord } from "./records.ts";

export interface JournalOptions {
  /** The clock that decides, at open, which holders have expired (the backend's clock). */
  now?: () => number;
  /** A log this large (and twice the snapshot) starts a new generation; 4 MiB by default. */
  compactAfterBytes?: number;
  /** Where the journal reports what it dropped or could not tidy; console.warn by default. */
  warn?: (message: string) => void;
}

export interface JournalPersistence extends MemoryPersistence {
  readonly path: string;
  /** What opening the journal dropped (a tail a crash cut short). */
  readonly notes: readonly string[];
  /** A key's durable record, as the journal holds it (for imports, tests and tools). */
  record(keyId: string): StoredRecord | undefined;
  /** Group commits written so far (one fdatasync each) and the current generation. */
  stats(): { commits: number; generation: number };
  /** Settles once the generation being written (if any) is complete. */
  compacted(): Promise<void>;
  close(): Promise<void>;
}

interface Queued {
  keyId: string;
  line: string;
  resolve: () => void;
  reject: (cause: unknown) => void;
}

export async function openJournal(path: string, options: JournalOptions = {}): Promise<JournalPersistence> {
  const warn = options.warn ?? ((message: string) => console.warn(`holdfast: ${message}`));
  const compactAfterBytes = options.compactAfterBytes ?? 4 * 1024 * 1024;
  await makeDurableDir(path);
  const recovered = await recover(path);
  const nowMs = (options.now ?? Date.now)();
  /** Each key's durable record, encoded: what a snapshot writes. */
  const lines = new Map<string, string>();
  for (const [keyId, record] of recovered.records) {
    const state = toState(keyId, record);
    pruneExpired(state, nowMs);
    lines.set(keyId, encodeLine(keyId, toRecord(state)));
  }
  let generation = recovered.generation + 1;
  // Snapshot first: a crash before the log exists leaves a whole generation with no changes yet.
  let snapshotBytes = await writeSnapshot(path, generation, [...lines.values()]);
  let log = await startGeneration(path, generation);
  await removeBefore(path, generation).catch((cause: unknown) =>
    warn(`could not delete the journal's older files (${String(cause)}); they are ignored and retried`),
  );

  let queue: Queued[] = [];
  let draining = false;
  let idle = Promise.resolve();
  let compacting: Promise<void> | undefined;
  let closed = false;
  let commits = 0;
  /** The log size below which no new generation is tried (raised after a failed try). */
  let rotateAtBytes = 0;

  /** Writes queued records in batches, one fdatasync each, until none are left. Never throws. */
  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        const bytes = batch.map((entry) => entry.line).join("") + encodeCommit(batch.length);
        await log.appendDurably(Buffer.from(bytes));
        commits++;
        for (const entry of batch) lines.set(entry.keyId, entry.line);
        for (const entry of batch) entry.resolve();
      } catch (cause) {
        for (const entry of batch) entry.reject(cause);
      }
      if (!log.broken && !compacting && log.size > Math.max(compactAfterBytes, 2 * snapshotBytes, rotateAtBytes)) {
        await nextGeneration();
      }
    }
    draining = false;
  }

  /** Moves appends to a new log now; writes the snapshot that completes it in the background. */
  async function nextGeneration(): Promise<void> {
    let next: LogWriter;
    try {
      next = await startGeneration(path, generation + 1);
    } catch (cause) {
      // Tried again once the log has grown by another compactAfterBytes, not after every commit.
      rotateAtBytes = log.size + compactAfterBytes;
      warn(`could not start a new journal generation (${String(cause)}); still appending to ${log.path}`);
      return;
    }
    const previous = log;
    log = next;
    generation++;
    // Between batches, so every record here is durable, and exactly those before the new log.
    const snapshot = [...lines.values()];
    const target = generation;
    compacting = (async () => {
      await previous.close();
      snapshotBytes = await writeSnapshot(path, target, snapshot);
      await removeBefore(path, target);
    })()
      .catch((cause: unknown) =>
        warn(`journal compaction failed (${String(cause)}); its older files stay and are read at start`),
      )
      .finally(() => {
        compacting = undefined;
      });
  }

  return {
    path,
    notes: recovered.notes,
    load: () => [...lines].map(([keyId, line]) => [keyId, toState(keyId, recordOfLine(line))]),
    save(keyId: string, state: KeyState): Promise<void> {
      if (closed) return Promise.reject(new Error(`journal ${path} is closed`));
      const line = encodeLine(keyId, toRecord(state));
      const written = new Promise<void>((resolve, reject) => queue.push({ keyId, line, resolve, reject }));
      if (!draining) {
        draining = true;
        // Started on the next turn, so that saves made in this one share its fdatasync.
        idle = new Promise<void>((resolve) => setImmediate(resolve)).then(drain);
      }
      return written;
    },
    record(keyId) {
      const line = lines.get(keyId);
      return line === undefined ? undefined : recordOfLine(line);
    },
    stats: () => ({ commits, generation }),
    compacted: async () => {
      while (compacting) await compacting;
    },
    async close() {
      closed = true;
      await idle;
      while (compacting) await compacting;
      await log.close();
    },
  };
}

/**
 * Creates the directory if need be, and makes its entry durable, with those of the parents
 * created for it: a journal whose directory vanishes in a crash is a journal lost. (The
 * parent is synced whoever created it; the server's claim creates it before this runs.)
 */
async function makeDurableDir(path: string): Promise<void> {
  const created = await mkdir(path, { recursive: true });
  await syncDir(dirname(path));
  if (created === undefined) return;
  for (let dir = dirname(path); dir.length >= created.length && dir !== dirname(dir); dir = dirname(dir)) {
    await syncDir(dirname(dir));
  }
}

/** Creates the generation's log; on failure, removes what it created, so the next try starts clean. */
async function startGeneration(dir: string, generation: number): Promise<LogWriter> {
  const file = join(dir, logName(generation));
  const log = await LogWriter.create(file);
  try {
    await syncDir(dir);
    return log;
  } catch (cause) {
    await log.close().catch(() => undefined);
    await unlink(file).catch(() => undefined);
    throw cause;
  }
}
