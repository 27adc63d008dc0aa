/**
 * One log file, appended to by one writer at a time (the group commit serialises them).
 * A write returns only once its bytes are on disk (fdatasync). A write that fails is cut
 * off again, so that later records never follow a half-written one; if even that fails,
 * the log refuses every further write until the server restarts and recovers it, because
 * an answer must never depend on bytes of unknown state.
 */
import { type FileHandle, open } from "node:fs/promises";
import { writeAll } from "./files.ts";

export class LogWriter {
  /** Bytes on disk: every record up to here is whole and durable. */
  size = 0;
  /** Set when a failed write could not be undone: every later write is refused with it. */
  broken: Error | undefined;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /** Creates the log, which must not exist yet (a generation's log is written once). */
  static async create(path: string): Promise<LogWriter> {
    return new LogWriter(path, await open(path, "wx"));
  }

  async appendDurably(bytes: Uint8Array): Promise<void> {
    if (this.broken) throw this.broken;
    const at = this.size;
    try {
      await writeAll(this.handle, bytes, at);
      await this.handle.datasync();
      this.size = at + bytes.length;
    } catch (cause) {
      await this.cutBackTo(at, cause);
      throw cause;
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  private async cutBackTo(at: number, cause: unknown): Promise<void> {
    try {
      await this.handle.truncate(at);
      await this.handle.datasync();
    } catch (repair) {
      this.broken = new Error(
        `${this.path}: a write failed (${String(cause)}) and could not be undone (${String(repair)}); restart the server to recover the journal`,
      );
    }
  }
}
