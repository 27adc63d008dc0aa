/**
 * The start:node journal on its own, on real files: group commit, a tail a crash cut
 * short, damage that must stop the server, a crash in the middle of a compaction, a
 * failed write undone, and a journal that stays about the size of its live records.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open as openFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KeyState } from "@holdfast/shared";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { type JournalOptions, type JournalPersistence, openJournal } from "../node/src/journal/index.ts";
import { LogWriter } from "../node/src/journal/log-writer.ts";
import { encodeCommit, encodeLine } from "../node/src/journal/records.ts";

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
const line = (keyId: string, fence: number) => encodeLine(keyId, fenceOnly(keyId, fence));
/** One group commit as the journal writes it: its records, then its commit line. */
const commit = (...lines: string[]) => lines.join("") + encodeCommit(lines.length);
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
    expect(reopened.notes).toEqual([expect.stringMatching(/dropped its last \d+ bytes, a damaged record at byte \d+/)]);
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
    writeFileSync(join(damagedSnapshot, "snapshot-2"), `${line("a", 1)}garbage\n`);
    await expect(open(damagedSnapshot)).rejects.toThrow(
      /snapshot-2: a damaged record at byte \d+\. The journal is damaged/,
    );

    const gap = tempDir();
    writeFileSync(join(gap, "snapshot-2"), line("a", 1));
    writeFileSync(join(gap, "log-3"), commit(line("a", 2)));
    await expect(open(gap)).rejects.toThrow(/log-2: missing/);

    const noSnapshot = tempDir();
    writeFileSync(join(noSnapshot, "log-1"), commit(line("a", 1)));
    await expect(open(noSnapshot)).rejects.toThrow(/its snapshot is missing/);

    // An earlier log that is damaged (not the last one written) is damage too.
    const damagedLog = tempDir();
    writeFileSync(join(damagedLog, "snapshot-1"), "");
    writeFileSync(join(damagedLog, "log-1"), "0123abcd [\n");
    writeFileSync(join(damagedLog, "log-2"), commit(line("a", 2)));
    await expect(open(damagedLog)).rejects.toThrow(/log-1: a damaged record at byte 0/);

    // In the last log, damage that a whole commit follows is damage to answered records, not a torn tail.
    const midLog = tempDir();
    writeFileSync(join(midLog, "snapshot-1"), "");
    const flipped = line("b", 2).replace('"fence":2', '"fence":3');
    writeFileSync(join(midLog, "log-1"), commit(line("a", 1)) + commit(flipped) + commit(line("c", 3)));
    await expect(open(midLog)).rejects.toThrow(/log-1: a damaged record at byte \d+\. The journal is damaged/);

    // An older log must end at its last commit line.
    const unfinished = tempDir();
    writeFileSync(join(unfinished, "snapshot-1"), "");
    writeFileSync(join(unfinished, "log-1"), commit(line("a", 1)) + line("b", 1));
    writeFileSync(join(unfinished, "log-2"), commit(line("a", 2)));
    await expect(open(unfinished)).rejects.toThrow(/log-1: bytes after its last commit/);
  });

  it("drops records whose commit line never reached the disk: they were never answered", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "snapshot-1"), line("a", 1));
    writeFileSync(join(dir, "log-1"), commit(line("a", 2), line("b", 1)) + line("a", 3) + line("c", 1));
    const journal = await open(dir);
    expect(journal.notes).toEqual([
      expect.stringMatching(/dropped its last \d+ bytes, records without their commit line/),
    ]);
    expect(fences(journal)).toEqual({ a: 2, b: 1 });
  });

  it("recovers from a crash in the middle of a compaction: the old snapshot and every log since", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "snapshot-3"), line("a", 1));
    writeFileSync(join(dir, "log-3"), commit(line("a", 2), line("b", 1)));
    writeFileSync(join(dir, "log-4"), commit(line("a", 3)));
    writeFileSync(join(dir, "snapshot-4.tmp"), `${line("a", 3)}0123`);
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

describe("the start:node journal's failure paths", () => {
  it("answers a save only after its fdatasync has returned, and syncs the directory after it creates files", async () => {
    const handles = await fileHandles();
    const dirSyncs = vi.spyOn(handles, "sync");
    const journal = await open(tempDir());
    // The snapshot's rename and the new log's creation, at least.
    expect(dirSyncs.mock.calls.length).toBeGreaterThanOrEqual(2);
    let release!: () => void;
    const synced = new Promise<void>((resolve) => {
      release = resolve;
    });
    const datasync = vi.spyOn(handles, "datasync").mockImplementationOnce(() => synced);
    let answered = false;
    const saved = Promise.resolve(journal.save("a", fenceOnly("a", 1))).then(() => {
      answered = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(datasync).toHaveBeenCalledTimes(1);
    expect(answered).toBe(false);
    release();
    await saved;
    expect(answered).toBe(true);
  });

  it("never leaves a log it could not repair for a new generation: every write stays refused", async () => {
    const journal = await open(tempDir(), { compactAfterBytes: 300 });
    // Hold the compaction (it first closes the log it leaves), so the new log outgrows the
    // threshold meanwhile: the moment a new generation would start next.
    let letCompactionRun!: () => void;
    const held = new Promise<void>((resolve) => {
      letCompactionRun = resolve;
    });
    const realClose = LogWriter.prototype.close;
    vi.spyOn(LogWriter.prototype, "close").mockImplementationOnce(async function (this: LogWriter) {
      await held;
      return realClose.call(this);
    });
    const generation = journal.stats().generation;
    let fence = 0;
    while (journal.stats().generation === generation) await journal.save("k", fenceOnly("k", ++fence));
    for (let i = 0; i < 10; i++) await journal.save("k", fenceOnly("k", ++fence));
    const handles = await fileHandles();
    vi.spyOn(handles, "datasync").mockRejectedValueOnce(new Error("EIO: injected"));
    vi.spyOn(handles, "truncate").mockRejectedValueOnce(new Error("EIO: again"));
    await expect(journal.save("b", fenceOnly("b", 1))).rejects.toThrow("EIO: injected");
    letCompactionRun();
    await journal.compacted();
    for (let i = 0; i < 3; i++) {
      await expect(journal.save(`c${i}`, fenceOnly("c", 1))).rejects.toThrow(/could not be undone/);
    }
    expect(journal.stats().generation).toBe(generation + 1);
  });

  it("removes a log it created but could not make durable, goes on appending, and tries again later", async () => {
    const dir = tempDir();
    const warnings: string[] = [];
    const journal = await open(dir, { compactAfterBytes: 2048, warn: (message) => warnings.push(message) });
    const generation = journal.stats().generation;
    vi.spyOn(await fileHandles(), "sync").mockRejectedValueOnce(new Error("EIO: directory"));
    let fence = 0;
    while (warnings.length === 0 && fence < 500) await journal.save("k", fenceOnly("k", ++fence));
    expect(warnings).toEqual([
      expect.stringMatching(/could not start a new journal generation \(Error: EIO: directory\)/),
    ]);
    expect(readdirSync(dir).sort()).toEqual([`log-${generation}`, `snapshot-${generation}`]);
    const failedAt = fence;
    // Not tried again after every commit, but once the log has grown by another 2 KiB.
    while (journal.stats().generation === generation && fence < 1000) await journal.save("k", fenceOnly("k", ++fence));
    expect(fence - failedAt).toBeGreaterThan(10);
    expect(warnings).toHaveLength(1);
    await journal.compacted();
    await journal.close();
    expect(fences(await open(dir))).toEqual({ k: fence });
  });

  it("keeps the older files when a snapshot cannot be written, removes its draft, and reads them back", async () => {
    const dir = tempDir();
    const warnings: string[] = [];
    const journal = await open(dir, { compactAfterBytes: 1024, warn: (message) => warnings.push(message) });
    const generation = journal.stats().generation;
    // A directory where the next snapshot must go: its rename fails.
    const inTheWay = join(dir, `snapshot-${generation + 1}`);
    mkdirSync(join(inTheWay, "x"), { recursive: true });
    let fence = 0;
    while (journal.stats().generation === generation) await journal.save("k", fenceOnly("k", ++fence));
    await journal.compacted();
    expect(warnings).toEqual([expect.stringMatching(/journal compaction failed .*; its older files stay/)]);
    expect(readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    rmSync(inTheWay, { recursive: true });
    await journal.save("k", fenceOnly("k", ++fence));
    await journal.close();
    expect(fences(await open(dir))).toEqual({ k: fence });
  });

  it("refuses saves after close, and close waits for the generation being written", async () => {
    const journal = await open(tempDir(), { compactAfterBytes: 512 });
    const saves = Array.from({ length: 30 }, (_, i) => journal.save(`k${i % 3}`, fenceOnly("k", i + 1)));
    await Promise.all(saves);
    await journal.close();
    await expect(journal.save("late", fenceOnly("late", 1))).rejects.toThrow(/is closed/);
    const reopened = await open(journal.path);
    expect(reopened.notes).toEqual([]);
    expect(Object.keys(fences(reopened)).sort()).toEqual(["k0", "k1", "k2"]);
  });
});

/** FileHandle's prototype (Node does not export the class), to fail the log's next call. */
async function fileHandles(): Promise<{
  datasync: () => Promise<void>;
  sync: () => Promise<void>;
  truncate: () => Promise<void>;
}> {
  const handle = await openFile(tmpdir(), "r");
  await handle.close();
  return Object.getPrototypeOf(handle);
}
