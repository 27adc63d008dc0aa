/**
 * One journal record per line: `<crc32 of the JSON, 8 hex digits> <JSON [keyId, record]>\n`.
 * JSON never holds a raw newline, so a line is a record; the checksum tells a whole one from
 * one a crash cut short. A key without holders is stored as its fence alone, so released
 * and expired grants leave nothing behind but the counter.
 */
import type { KeyState } from "@holdfast/shared";
import { crc32 } from "./crc32.ts";

/** A key without holders: only what must survive, its fence counter. */
export interface FenceRecord {
  tenant: string;
  key: string;
  fence: number;
}

export type StoredRecord = FenceRecord | KeyState;

const NEWLINE = 0x0a;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function toRecord(state: KeyState): StoredRecord {
  if (state.holders.length === 0) return { tenant: state.tenant, key: state.key, fence: state.fence };
  return state;
}

export function toState(keyId: string, record: StoredRecord): KeyState {
  if (typeof record?.tenant !== "string" || typeof record.key !== "string" || !Number.isSafeInteger(record.fence)) {
    throw new Error(`lock state for ${keyId}: unreadable record`);
  }
  if (!("holders" in record))
    return { tenant: record.tenant, key: record.key, fence: record.fence, limit: null, holders: [] };
  return { ...record, holders: record.holders.map((holder) => ({ ...holder })) };
}

export function encodeLine(keyId: string, record: StoredRecord): string {
  const json = JSON.stringify([keyId, record]);
  return `${crc32(encoder.encode(json)).toString(16).padStart(8, "0")} ${json}\n`;
}

export interface DecodedFile {
  /** Each record in file order (a later one for the same key replaces an earlier one). */
  entries: [keyId: string, record: StoredRecord][];
  /** The bytes up to the end of the last whole record. */
  validBytes: number;
  /** Why reading stopped before the end of the file; undefined when every byte was a whole record. */
  damage?: string;
}

/** Reads records until the end or the first line that is cut short or fails its checksum. */
export function decodeFile(bytes: Uint8Array): DecodedFile {
  const entries: [string, StoredRecord][] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const end = bytes.indexOf(NEWLINE, offset);
    if (end < 0) return { entries, validBytes: offset, damage: `a record cut short at byte ${offset}` };
    const entry = decodeLine(bytes, offset, end);
    if (entry === undefined) return { entries, validBytes: offset, damage: `a damaged record at byte ${offset}` };
    entries.push(entry);
    offset = end + 1;
  }
  return { entries, validBytes: offset };
}

function decodeLine(bytes: Uint8Array, start: number, end: number): [string, StoredRecord] | undefined {
  const jsonStart = start + 9;
  if (end <= jsonStart || bytes[start + 8] !== 0x20) return undefined;
  const expected = Number.parseInt(decoder.decode(bytes.subarray(start, start + 8)), 16);
  if (crc32(bytes, jsonStart, end) !== expected) return undefined;
  try {
    const parsed: unknown = JSON.parse(decoder.decode(bytes.subarray(jsonStart, end)));
    if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== "string") return undefined;
    return [parsed[0], parsed[1] as StoredRecord];
  } catch {
    return undefined;
  }
}
