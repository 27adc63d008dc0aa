/**
 * Keeps the memory backend's state (fence counters included) in LMDB, one record per key,
 * so that fences stay monotonic across restarts of `npm run start:node`. A change writes
 * only the key that changed; writes issued in the same event turn share one transaction,
 * and each transaction is fsynced (fdatasync) before its promise resolves, so the backend
 * answers only once the change is durable. A key without holders is stored as its fence
 * alone, so released and expired grants leave nothing behind but the counter.
 */
import { mkdirSync, readFileSync, renameSync } from "node:fs";
import { type KeyState, type MemoryPersistence, pruneExpired } from "@holdfast/shared";
import { type Database, open, type RootDatabase } from "lmdb";

/** A key without holders: only what must survive, its fence counter. */
export interface FenceRecord {
  tenant: string;
  key: string;
  fence: number;
}

export type StoredRecord = FenceRecord | KeyState;

export interface LmdbPersistence extends MemoryPersistence {
  /** The LMDB environment's directory. */
  readonly path: string;
  /** The records by key id (for tests and tools; the backend goes through load/save). */
  readonly records: Database<StoredRecord, string>;
  close(): Promise<void>;
}

export interface LmdbPersistenceOptions {
  /** The clock that decides, at load, which holders have expired (the backend's clock). */
  now?: () => number;
}

export function lmdbPersistence(path: string, options: LmdbPersistenceOptions = {}): LmdbPersistence {
  mkdirSync(path, { recursive: true });
  const env: RootDatabase = open({
    path,
    noSubdir: false,
    compression: false,
    // Each commit is fsynced before its promise resolves (the default, overlapping sync,
    // resolves at commit and flushes later): an answered change is on disk.
    overlappingSync: false,
  });
  const records = env.openDB<StoredRecord, string>({ name: "keys", encoding: "msgpack" });
  const now = options.now ?? (() => Date.now());
  return {
    path,
    records,
    load: () => loadAll(records, now()),
    async save(keyId, state) {
      await records.put(keyId, toRecord(state));
    },
    close: () => env.close(),
  };
}

/** Reads every key; holders that expired while the server was down are dropped and their keys compacted. */
function loadAll(records: Database<StoredRecord, string>, nowMs: number): [string, KeyState][] {
  const loaded: [string, KeyState][] = [];
  const compacted: [string, KeyState][] = [];
  for (const { key: keyId, value } of records.getRange()) {
    const state = toState(keyId, value);
    if (pruneExpired(state, nowMs)) compacted.push([keyId, state]);
    loaded.push([keyId, state]);
  }
  if (compacted.length > 0) {
    records.transactionSync(() => {
      for (const [keyId, state] of compacted) records.putSync(keyId, toRecord(state));
    });
  }
  return loaded;
}

export function toRecord(state: KeyState): StoredRecord {
  if (state.holders.length === 0) return { tenant: state.tenant, key: state.key, fence: state.fence };
  return state;
}

function toState(keyId: string, record: StoredRecord): KeyState {
  if (typeof record?.tenant !== "string" || typeof record.key !== "string" || !Number.isSafeInteger(record.fence)) {
    throw new Error(`lock state for ${keyId}: unreadable record`);
  }
  if (!("holders" in record))
    return { tenant: record.tenant, key: record.key, fence: record.fence, limit: null, holders: [] };
  return { ...record, holders: record.holders.map((holder) => ({ ...holder })) };
}

export interface LegacyImport {
  keys: number;
  /** Where the old file was moved, so that it is imported once. */
  movedTo: string;
}

/**
 * Imports the state file of the JSON persistence (before LMDB), once: in one transaction,
 * keeping whichever of the two records has the higher fence, then renames the file.
 * Returns undefined when there is no such file.
 */
export function importLegacyState(persistence: LmdbPersistence, file: string): LegacyImport | undefined {
  const keys = readLegacy(file);
  if (keys === undefined) return undefined;
  const { records } = persistence;
  records.transactionSync(() => {
    for (const [keyId, state] of keys) {
      const existing = records.get(keyId);
      if (existing === undefined || existing.fence < state.fence) records.putSync(keyId, toRecord(state));
    }
  });
  // Renamed only after the import committed: a crash before this imports it again, harmlessly.
  const movedTo = `${file}.imported`;
  renameSync(file, movedTo);
  return { keys: keys.length, movedTo };
}

function readLegacy(file: string): [string, KeyState][] | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as { version: number; keys: [string, KeyState][] };
  if (parsed.version !== 1) throw new Error(`${file}: unknown state version ${parsed.version}`);
  return parsed.keys;
}
