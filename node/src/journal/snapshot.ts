/**
 * A generation's snapshot: every key's record, written whole before it counts. It goes to
 * `snapshot-g.tmp`, is fsynced, renamed into place and the rename fsynced, so a snapshot
 * that exists is complete. Only then are older generations deleted.
 */
import { open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { listFiles, logName, snapshotName, syncDir, writeAll } from "./files.ts";

const CHUNK_LINES = 4096;

/** Writes the snapshot of `generation` from encoded lines; returns its size in bytes. */
export async function writeSnapshot(dir: string, generation: number, lines: readonly string[]): Promise<number> {
  const final = join(dir, snapshotName(generation));
  const draft = `${final}.tmp`;
  const handle = await open(draft, "w");
  let bytes = 0;
  try {
    try {
      for (let i = 0; i < lines.length; i += CHUNK_LINES) {
        const chunk = Buffer.from(lines.slice(i, i + CHUNK_LINES).join(""));
        await writeAll(handle, chunk, bytes);
        bytes += chunk.length;
      }
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(draft, final);
  } catch (cause) {
    await unlink(draft).catch(() => undefined);
    throw cause;
  }
  await syncDir(dir);
  return bytes;
}

/** Deletes the snapshots and logs of generations before `generation`, which its snapshot replaces. */
export async function removeBefore(dir: string, generation: number): Promise<void> {
  const files = await listFiles(dir);
  const old = [
    ...files.snapshots.filter((g) => g < generation).map(snapshotName),
    ...files.logs.filter((g) => g < generation).map(logName),
  ];
  for (const name of old) await unlink(join(dir, name));
  if (old.length > 0) await syncDir(dir);
}
