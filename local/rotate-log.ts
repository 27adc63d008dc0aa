/**
 * A log that a long-lived local process appends to (the Firestore emulator's), kept to
 * two files: when it has grown past `maxBytes`, it becomes `<path>.1` (replacing the one
 * before) and the next writer starts a new one. Called before a new writer opens it, so
 * no open file is renamed under a writer that would go on filling it.
 */
import { renameSync, statSync } from "node:fs";

/** 8 MiB: days of an emulator's ordinary output, and a readable tail after a crash. */
export const LOG_ROTATE_BYTES = 8 * 1024 * 1024;

export function rotateLog(path: string, maxBytes = LOG_ROTATE_BYTES): boolean {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return false; // no log yet
  }
  if (size <= maxBytes) return false;
  renameSync(path, `${path}.1`);
  return true;
}
