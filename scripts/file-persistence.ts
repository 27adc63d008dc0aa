/**
 * Keeps the memory backend's state (fence counters included) in one JSON file, so that
 * fences stay monotonic across restarts of `npm start`. Each change is written to a
 * temporary file and renamed over the old one before the caller sees the result.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { KeyState, MemoryPersistence } from "@holdfast/shared";

export function filePersistence(path: string): MemoryPersistence {
  mkdirSync(dirname(path), { recursive: true });
  return {
    load() {
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw error;
      }
      const parsed = JSON.parse(text) as { version: number; keys: [string, KeyState][] };
      if (parsed.version !== 1) throw new Error(`${path}: unknown state version ${parsed.version}`);
      return parsed.keys;
    },
    save(states) {
      const temporary = `${path}.${process.pid}.tmp`;
      writeFileSync(temporary, JSON.stringify({ version: 1, keys: [...states] }));
      renameSync(temporary, path);
    },
  };
}
