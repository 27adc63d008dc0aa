/**
 * One journal record per line: `<crc32 of the JSON, 8 hex digits> <JSON [keyId, record]>\n`.
 * JSON never holds a raw newline, so a line is a record; the checksum tells a whole one from
 * one a crash cut short. In a log, each group commit ends with a commit line (JSON
 * `{"commit": <records in it>}`) written in the same write: a batch without its commit line
 * was never answered. A key without holders is stored as its fence alone, so released and
 * expired grants leave nothing behind but the counter.
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
  if (
    typeof record?.tenant !== "string" ||
    typeof record.key !== "string" ||
    !Number.isSafeInteger(record.fence) ||
    record.fence < 0 ||
    ("holders" in record && !Array.isArray(record.holders))
  ) {
    throw new Error(`lock state for ${keyId}: unreadable record`);
  }
  if (!("holders" in record))
    return { tenant: record.tenant, key: record.key, fence: record.fence, limit: null, holders: [] };
  return { ...record, holders: record.holders.map((holder) => ({ ...holder })) };
}

export function encodeLine(keyId: string, record: StoredRecord): string {
  return lineOf(JSON.stringify([keyId, record]));
}

/** The record of a line this process encoded (already trusted: no checksum to verify). */
export function recordOfLine(line: string): StoredRecord {
  return (JSON.parse(line.slice(9)) as [string, StoredRecord])[1];
}

/** The line that closes a group commit of `count` records. */
export function encodeCommit(count: number): string {
  return lineOf(JSON.stringify({ commit: count }));
}

function lineOf(json: string): string {
  return `${crc32(encoder.encode(json)).toString(16).padStart(8, "0")} ${json}\n`;
}

type Line = { keyId: string; record: StoredRecord } | { commit: number };

export interface DecodedSnapshot {
  entries: [keyId: string, record: StoredRecord][];
  /** Why the snapshot cannot be read; undefined when every line is a whole record. */
  damage?: string;
}

/** A snapshot is written whole before it is renamed into place: every line must be a record. */
export function decodeSnapshot(bytes: Uint8Array): DecodedSnapshot {
  const entries: [string, StoredRecord][] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const end = bytes.indexOf(NEWLINE, offset);
    const line = end < 0 ? undefined : decodeLine(bytes, offset, end);
    if (line === undefined || !("keyId" in line)) return { entries, damage: `a damaged record at byte ${offset}` };
    entries.push([line.keyId, line.record]);
    offset = end + 1;
  }
  return { entries };
}

export interface DecodedLog {
  /** The records of every whole group commit, in file order (a later one for a key replaces an earlier one). */
  entries: [keyId: string, record: StoredRecord][];
  /** The bytes up to the end of the last whole group commit. */
  committedBytes: number;
  /** Where reading met a line cut short or failing its checksum, if it did. */
  damage?: string;
  /** Whether a whole commit line follows that damage: then it is not a torn tail but damage to answered records. */
  commitsAfterDamage: boolean;
}

export function decodeLog(bytes: Uint8Array): DecodedLog {
  const entries: [string, StoredRecord][] = [];
  let batch: [string, StoredRecord][] = [];
  let committedBytes = 0;
  for (let offset = 0; offset < bytes.length; ) {
    const end = bytes.indexOf(NEWLINE, offset);
    const line = end < 0 ? undefined : decodeLine(bytes, offset, end);
    if (line === undefined || ("commit" in line && line.commit !== batch.length)) {
      const damage = end < 0 ? `a record cut short at byte ${offset}` : `a damaged record at byte ${offset}`;
      return {
        entries,
        committedBytes,
        damage,
        commitsAfterDamage: commitLineIn(bytes, end < 0 ? bytes.length : end + 1),
      };
    }
    if ("commit" in line) {
      entries.push(...batch);
      batch = [];
      committedBytes = end + 1;
    } else {
      batch.push([line.keyId, line.record]);
    }
    offset = (end as number) + 1;
  }
  return { entries, committedBytes, commitsAfterDamage: false };
}

/** Whether any whole commit line starts at or after `from`. */
function commitLineIn(bytes: Uint8Array, from: number): boolean {
  for (let offset = from; offset < bytes.length; ) {
    const end = bytes.indexOf(NEWLINE, offset);
    if (end < 0) return false;
    const line = decodeLine(bytes, offset, end);
    if (line && "commit" in line) return true;
    offset = end + 1;
  }
  return false;
}

function decodeLine(bytes: Uint8Array, start: number, end: number): Line | undefined {
  const jsonStart = start + 9;
  if (end <= jsonStart || bytes[start + 8] !== 0x20) return undefined;
  let expected = 0;
  for (let i = start; i < start + 8; i++) {
    const digit = HEX.indexOf(bytes[i] as number);
    if (digit < 0) return undefined;
    expected = expected * 16 + digit;
  }
  if (crc32(bytes, jsonStart, end) !== expected) return undefined;
  try {
    const parsed: unknown = JSON.parse(decoder.decode(bytes.subarray(jsonStart, end)));
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === "string") {
      return { keyId: parsed[0], record: parsed[1] as StoredRecord };
    }
    const commit = (parsed as { commit?: unknown } | null)?.commit;
    return Number.isSafeInteger(commit) ? { commit: commit as number } : undefined;
  } catch {
    return undefined;
  }
}

/** The byte values of "0123456789abcdef", by digit. */
const HEX = [...encoder.encode("0123456789abcdef")];
