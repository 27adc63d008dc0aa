/**
 * The Firestore emulator's documents on disk: exports `firestore_export_<n>` in a data
 * directory, the newest (largest n) being the state that the next start imports. An export
 * is written into a staging directory and renamed into place when it is complete, so that
 * a crash in the middle of one (of the emulator, or of whoever asked for it) leaves the
 * previous export as the state, never a half-written one.
 */
import { mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DEMO_PROJECT } from "./firestore-emulator.ts";

const EXPORT = /^firestore_export_\d+$/;

/** The newest complete export's name, if any. */
export function latestExport(dataDir: string): string | undefined {
  const exports = readdirSync(dataDir).filter((name) => EXPORT.test(name));
  return exports.sort((a, b) => Number(a.split("_").pop()) - Number(b.split("_").pop())).pop();
}

/** The emulator's `--import-data` argument for the newest export, if there is one. */
export function importArgs(dataDir: string): string[] {
  mkdirSync(dataDir, { recursive: true });
  // Staging directories of exports that never finished: not state, and in the way.
  for (const name of readdirSync(dataDir))
    if (name.startsWith(".export-")) rmSync(join(dataDir, name), { recursive: true });
  const latest = latestExport(dataDir);
  if (!latest) return [];
  // The metadata file keeps the name the emulator gave the export (which renaming changes).
  const metadata = readdirSync(join(dataDir, latest)).find((name) => name.endsWith(".overall_export_metadata"));
  return metadata ? [`--import-data=${join(dataDir, latest, metadata)}`] : [];
}

/** Exports the emulator at `host` into `dataDir` as its newest export, and drops the older ones. */
export async function exportTo(host: string, dataDir: string): Promise<void> {
  const project = process.env.GCLOUD_PROJECT ?? DEMO_PROJECT;
  const staging = join(dataDir, `.export-${process.pid}-${Date.now()}`);
  mkdirSync(staging, { recursive: true });
  try {
    const response = await fetch(`http://${host}/emulator/v1/projects/${project}:export`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ database: `projects/${project}/databases/(default)`, export_directory: staging }),
    });
    if (!response.ok) throw new Error(`Firestore emulator export failed: ${await response.text()}`);
    const made = readdirSync(staging).find((name) => EXPORT.test(name));
    if (!made) throw new Error(`Firestore emulator export wrote nothing into ${staging}`);
    // Named by milliseconds (the emulator names by seconds): two exports within a second
    // each get a name of their own, after every export named by an older version.
    const previous = Number(latestExport(dataDir)?.split("_").pop() ?? 0);
    const name = `firestore_export_${Math.max(Date.now(), previous + 1)}`;
    renameSync(join(staging, made), join(dataDir, name));
    for (const old of readdirSync(dataDir)) {
      if (old !== name && EXPORT.test(old)) rmSync(join(dataDir, old), { recursive: true, force: true });
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
