/**
 * Reads the journal back at start: the newest snapshot, then every log from its generation
 * on, a later record of a key replacing an earlier one. Only the newest log can end in a
 * group commit that a crash cut short (a line cut short or failing its checksum, or records
 * without their commit line): its writes were the last, and none was answered before its
 * commit line was on disk, so that tail is dropped and said. Damage anywhere else (in a
 * snapshot, in an older log, or followed by a whole commit line) is damage to answered
 * records, and the server refuses to start rather than hand out fences again.
 */
import { readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { listFiles, logName, snapshotName, syncDir } from "./files.ts";
import { decodeLog, decodeSnapshot, type StoredRecord } from "./records.ts";

export interface Recovered {
  records: Map<string, StoredRecord>;
  /** The newest generation on disk (0 for a new journal). */
  generation: number;
  /** What was dropped, for the server to say. */
  notes: string[];
}

export async function recover(dir: string): Promise<Recovered> {
  const files = await listFiles(dir);
  for (const draft of files.drafts) await unlink(join(dir, draft));
  if (files.drafts.length > 0) await syncDir(dir);
  const base = files.snapshots.at(-1) ?? 0;
  const logs = files.logs.filter((generation) => generation >= base);
  if (logs.length > 0 && base === 0) throw damaged(join(dir, logName(logs[0] as number)), "its snapshot is missing");
  // A snapshot is followed by its own log, then the next ones; at open the log comes just after
  // the snapshot, so a crash in between leaves none.
  logs.forEach((generation, i) => {
    if (generation !== base + i) throw damaged(join(dir, logName(base + i)), "missing");
  });

  const records = new Map<string, StoredRecord>();
  const notes: string[] = [];
  if (base > 0) {
    const path = join(dir, snapshotName(base));
    const decoded = decodeSnapshot(await readFile(path));
    if (decoded.damage) throw damaged(path, decoded.damage);
    for (const [keyId, record] of decoded.entries) records.set(keyId, record);
  }
  for (const generation of logs) {
    const path = join(dir, logName(generation));
    const bytes = await readFile(path);
    const decoded = decodeLog(bytes);
    const last = generation === logs.at(-1);
    if (decoded.damage && (decoded.commitsAfterDamage || !last)) throw damaged(path, decoded.damage);
    if (decoded.committedBytes < bytes.length) {
      // An older log ends at its last commit line: it was left for a new one only between commits.
      if (!last) throw damaged(path, `bytes after its last commit, from byte ${decoded.committedBytes}`);
      notes.push(
        `${path}: dropped its last ${bytes.length - decoded.committedBytes} bytes, ${decoded.damage ?? "records without their commit line"}: a write that a crash cut short, never answered`,
      );
    }
    for (const [keyId, record] of decoded.entries) records.set(keyId, record);
  }
  return { records, generation: Math.max(base, logs.at(-1) ?? 0), notes };
}

function damaged(path: string, what: string): Error {
  return new Error(
    `${path}: ${what}. The journal is damaged (not just cut short by a crash); the server will not start on it, so that no fence is issued twice`,
  );
}
