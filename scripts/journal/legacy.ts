/**
 * Upgrading a data directory from an earlier start:node: its fences move into the journal
 * once. Two formats came before: LMDB (`memory-lmdb/`, one record per key) and before it
 * one JSON file (`memory-state.json`). Each key keeps whichever record has the higher fence,
 * and the old store is renamed only after the journal has every key on disk, so a crash in
 * between imports it again, harmlessly.
 */
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { KeyState } from "@holdfast/shared";
import { claimDataDir } from "../data-dir-lock.ts";
import { syncDir } from "./files.ts";
import type { JournalPersistence } from "./index.ts";
import { type StoredRecord, toState } from "./records.ts";

export interface LegacyImport {
  keys: number;
  from: string;
  /** Where the old store was moved, so that it is imported once. */
  movedTo: string;
}

/** Imports what the data directory holds from earlier versions; returns what it did. */
export async function importLegacy(journal: JournalPersistence, dataDir: string): Promise<LegacyImport[]> {
  const imports: LegacyImport[] = [];
  const file = join(dataDir, "memory-state.json");
  if (existsSync(file)) imports.push(await importEntries(journal, readJsonState(file), file));
  const lmdbDir = join(dataDir, "memory-lmdb");
  if (existsSync(join(lmdbDir, "data.mdb"))) {
    // An older server may still be running on it: its claim refuses this start.
    claimDataDir(lmdbDir, "npm run start:node (importing LMDB)");
    imports.push(
      await importEntries(journal, await readLmdb(lmdbDir), lmdbDir, () =>
        rmSync(join(lmdbDir, "server.lock"), { force: true }),
      ),
    );
  }
  if (imports.length > 0) await syncDir(dataDir);
  return imports;
}

async function importEntries(
  journal: JournalPersistence,
  entries: Iterable<[string, StoredRecord]>,
  from: string,
  beforeMove: () => void = () => undefined,
): Promise<LegacyImport> {
  const writes: Promise<void>[] = [];
  let keys = 0;
  for (const [keyId, record] of entries) {
    keys++;
    const state = toState(keyId, record);
    const existing = journal.record(keyId);
    if (existing === undefined || existing.fence < state.fence)
      writes.push(Promise.resolve(journal.save(keyId, state)));
  }
  await Promise.all(writes);
  beforeMove();
  // An earlier import's copy stays as it was (an upgrade, a downgrade, an upgrade again).
  const movedTo = existsSync(`${from}.imported`) ? `${from}.imported-${Date.now()}` : `${from}.imported`;
  renameSync(from, movedTo);
  return { keys, from, movedTo };
}

function readJsonState(file: string): [string, KeyState][] {
  const parsed = JSON.parse(readFileSync(file, "utf8")) as { version: number; keys: [string, KeyState][] };
  if (parsed.version !== 1) throw new Error(`${file}: unknown state version ${parsed.version}`);
  return parsed.keys;
}

/** Every record of the LMDB store; lmdb is loaded only when there is one to import. */
async function readLmdb(dir: string): Promise<[string, StoredRecord][]> {
  const { open } = await import("lmdb");
  const env = open({ path: dir, noSubdir: false, compression: false, readOnly: true });
  try {
    const records = env.openDB<StoredRecord, string>({ name: "keys", encoding: "msgpack" });
    return [...records.getRange()].map(({ key, value }) => [key, value] as [string, StoredRecord]);
  } finally {
    await env.close();
  }
}
