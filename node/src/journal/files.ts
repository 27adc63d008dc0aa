/**
 * The journal's files in its directory. Generation g is `snapshot-g` (every key's record
 * as log-g began; empty for a new journal) followed by `log-g` (each change since, appended). A snapshot is written as `snapshot-g.tmp` and renamed once it is on disk, so
 * a snapshot that exists is whole. Directory entries are fsynced after every create,
 * rename and delete: a file that holds answered changes must not vanish in a crash.
 */
import { type FileHandle, open, readdir } from "node:fs/promises";

export const snapshotName = (generation: number) => `snapshot-${generation}`;
export const logName = (generation: number) => `log-${generation}`;

export interface JournalFiles {
  snapshots: number[];
  logs: number[];
  /** Snapshots a crash left half written: never read, deleted at open. */
  drafts: string[];
}

export async function listFiles(dir: string): Promise<JournalFiles> {
  const files: JournalFiles = { snapshots: [], logs: [], drafts: [] };
  for (const name of await readdir(dir)) {
    const match = /^(snapshot|log)-([1-9]\d*)(\.tmp)?$/.exec(name);
    if (!match) continue;
    if (match[3]) files.drafts.push(name);
    else (match[1] === "snapshot" ? files.snapshots : files.logs).push(Number(match[2]));
  }
  files.snapshots.sort((a, b) => a - b);
  files.logs.sort((a, b) => a - b);
  return files;
}

/** Makes the directory's entries durable (creates, renames and deletes in it). */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes all of `bytes` at `position` (a write may take fewer bytes than it was given). */
export async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}
