/**
 * The start:node journal on its own, on real files: group commit, a tail a crash cut
 * short, damage that must stop the server, a crash in the middle of a compaction, a
 * failed write undone, and a journal that stays about the size of its live records.
 */
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open as openFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KeyState } from "@holdfast/shared";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { type JournalOptions, type JournalPersistence, openJournal } from "../scripts/journal/index.ts";
import { encodeLine } from "../scripts/journal/records.ts";

const dirs: string[] = [];
const opened: JournalPersistence[] = [];
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(async () => {
  await Promise.all(opened.map((journal) => journal.close().catch(() => undefined)));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "holdfast-journal-"));
  dirs.push(dir);
  return dir;
}

async function open(dir: string, options: JournalOptions = {}): Promise<JournalPersistence> {
  const journal = await openJournal(dir, { warn: () => undefined, ...options });
  opened.push(journal);
  return journal;
}

const fenceOnly = (key: string, fence: number): KeyState => ({ tenant: "t", key, fence, limit: null, holders: [] });
const fences = (journal: JournalPersistence) =>
  Object.fromEntries([...journal.load()].map(([keyId, state]) => [keyId, state.fence]));

describe("the start:node journal", () => {
  it("commits the saves of one turn with one fdatasync, and each resolves only once it is on disk", async () => {
    const journal = await open(tempDir());
    const before = journal.stats().commits;
    await Promise.all(Array.from({ length: 200 }, (_, i) => journal.save(`k${i}`, fenceOnly(`key-${i}`, i + 1))));
    expect(journal.stats().commits - before).toBe(1);
    await journal.close();
    expect(fences(await open(journal.path))).toMatchObject({ k0: 1, k199: 200 });
  });

  it("drops a record a crash cut short at the end of the last log, says so, and appends after the whole ones", async () => {
    const dir = tempDir();
    const journal = await open(dir);
    await journal.save("a", fenceOnly("a", 1));
    await journal.save("b", fenceOnly("b", 2));
    await journal.close();
    const log = readdirSync(dir).find((name) => name.startsWith("log-")) as string;
    // A write a crash interrupted: half a record, and one whose checksum does not match.
    appendFileSync(
      join(dir, log),
      `${encodeLine("c", fenceOnly("c", 3)).replace(/"fence":3/, '"fence":9')}0123abcd ["d",`,
    );

    const reopened = await open(dir);
    expect(reopened.notes).toEqual([
      expect.stringMatching(/dropped its last \d+ bytes, from a damaged record at byte \d+/),
    ]);
    expect(fences(reopened)).toEqual({ a: 1, b: 2 });
    await reopened.save("e", fenceOnly("e", 5));
    await reopened.close();
    const third = await open(dir);
    expect(third.notes).toEqual([]);
    expect(fences(third)).toEqual({ a: 1, b: 2, e: 5 });
    // Each open starts a fresh generation; the older files are gone.
    expect(readdirSync(dir).sort()).toEqual([
      `log-${third.stats().generation}`,
      `snapshot-${third.stats().generation}`,
    ]);
  });

  it("refuses to open a damaged snapshot, a log missing from the chain, or logs without a snapshot", async () => {
    const damagedSnapshot = tempDir();
    writeFileSync(join(damagedSnapshot, "snapshot-2"), `${encodeLine("a", fenceOnly("a", 1))}garbage\n`);
    await expect(open(damagedSnapshot)).rejects.toThrow(
      /snapshot-2: a damaged record at byte \d+\. The journal is damaged/,
    );

    const gap = tempDir();
    writeFileSync(join(gap, "snapshot-2"), encodeLine("a", fenceOnly("a", 1)));
    writeFileSync(join(gap, "log-3"), encodeLine("a", fenceOnly("a", 2)));
    await expect(open(gap)).rejects.toThrow(/log-2: missing/);

    const noSnapshot = tempDir();
    writeFileSync(join(noSnapshot, "log-1"), encodeLine("a", fenceOnly("a", 1)));
    await expect(open(noSnapshot)).rejects.toThrow(/its snapshot is missing/);

    // An earlier log that is damaged (not the last one written) is damage too.
    const damagedLog = tempDir();
    writeFileSync(join(damagedLog, "snapshot-1"), "");
    writeFileSync(join(damagedLog, "log-1"), "0123abcd [\n");
    writeFileSync(join(damagedLog, "log-2"), encodeLine("a", fenceOnly("a", 2)));
    await expect(open(damagedLog)).rejects.toThrow(/log-1: a damaged record at byte 0/);
  });

  it("recovers from a crash in the middle of a compaction: the old snapshot and every log since", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "snapshot-3"), encodeLine("a", fenceOnly("a", 1)));
    writeFileSync(join(dir, "log-3"), encodeLine("a", fenceOnly("a", 2)) + encodeLine("b", fenceOnly("b", 1)));
    writeFileSync(join(dir, "log-4"), encodeLine("a", fenceOnly("a", 3)));
    writeFileSync(join(dir, "snapshot-4.tmp"), `${encodeLine("a", fenceOnly("a", 3))}0123`);
    writeFileSync(join(dir, "log-2"), "left over from before snapshot-3");

    const journal = await open(dir);
    expect(fences(journal)).toEqual({ a: 3, b: 1 });
    expect(readdirSync(dir).sort()).toEqual(["log-5", "snapshot-5"]);
  });

  it("starts a new generation when the log outgrows its live records, and keeps every key's last record", async () => {
    const dir = tempDir();
    const journal = await open(dir, { compactAfterBytes: 4096 });
    for (let round = 1; round <= 100; round++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => journal.save(`k${i}`, fenceOnly(`key-${i}`, round))));
    }
    await journal.compacted();
    expect(journal.stats().generation).toBeGreaterThan(3);
    const bytes = readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
    // 100 rounds of 20 records were written; the files hold about the live 20 and one log.
    expect(bytes).toBeLessThan(3 * 4096);
    await journal.close();
    const reopened = await open(dir);
    expect(Object.values(fences(reopened))).toEqual(Array.from({ length: 20 }, () => 100));
  });

  it("cuts a failed write off again, so the records after it follow whole ones", async () => {
    const dir = tempDir();
    const journal = await open(dir);
    await journal.save("a", fenceOnly("a", 1));
    // The next fdatasync anywhere is the log's: nothing else writes meanwhile.
    vi.spyOn(await fileHandles(), "datasync").mockRejectedValueOnce(new Error("EIO: injected"));
    // Longer than the record written after it: left in place, its tail would follow that one.
    await expect(journal.save("b", fenceOnly("b".repeat(40), 1))).rejects.toThrow("EIO: injected");
    expect(journal.record("b")).toBeUndefined();
    await journal.save("c", fenceOnly("c", 1));
    await journal.close();
    const reopened = await open(dir);
    expect(reopened.notes).toEqual([]);
    expect(fences(reopened)).toEqual({ a: 1, c: 1 });
  });

  it("refuses every write after a failed one that could not be undone, until a restart", async () => {
    const journal = await open(tempDir());
    const prototype = await fileHandles();
    vi.spyOn(prototype, "datasync").mockRejectedValueOnce(new Error("EIO: injected"));
    vi.spyOn(prototype, "truncate").mockRejectedValueOnce(new Error("EIO: again"));
    await expect(journal.save("a", fenceOnly("a", 1))).rejects.toThrow("EIO: injected");
    await expect(journal.save("b", fenceOnly("b", 1))).rejects.toThrow(/could not be undone .*restart the server/);
  });
});

/** FileHandle's prototype (Node does not export the class), to fail the log's next call. */
async function fileHandles(): Promise<{ datasync: () => Promise<void>; truncate: () => Promise<void> }> {
  const handle = await openFile(tmpdir(), "r");
  await handle.close();
  return Object.getPrototypeOf(handle);
}
