/**
 * Weight of the Worker as `wrangler deploy` uploads it: esbuild, minified, gzip -9.
 * Without the store drivers (marked external) it is what Holdfast itself costs; the total
 * keeps every backend on its official driver, as deployed.
 */
import { type BundleMeasure, measureWorkerBundle, STORE_DRIVERS } from "../scripts/build-worker.ts";
import type { BenchRow } from "./run.ts";

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

function sizeRow(name: string, measure: BundleMeasure, goal?: string): BenchRow {
  return {
    name,
    value: `${kb(measure.gzipBytes)} (${measure.gzipBytes} B)`,
    ...(goal ? { goal } : {}),
    note: `${kb(measure.minifiedBytes)} minified (scripts/build-worker.ts settings + --minify, as wrangler.toml's minify = true; wrangler's own upload adds its wrapper, ~7% more); zlib level 9`,
  };
}

export default async function bundleSizeBench(): Promise<BenchRow[]> {
  const [own, total] = await Promise.all([measureWorkerBundle({ withoutDrivers: true }), measureWorkerBundle()]);
  const rows: BenchRow[] = [
    sizeRow(
      `Worker bundle, min+gzip, without the store drivers (${STORE_DRIVERS.join(", ")} external)`,
      own,
      "≤ 40 KB (the Worker's budget)",
    ),
    sizeRow("Worker bundle, min+gzip, total (every backend on its official driver)", total, "reported"),
  ];
  // esbuild's metafile counts each input's minified bytes in the output; gzip works on the
  // whole file, so shares are of minified bytes (gzip squeezes the drivers and ours alike).
  const isDriver = (name: string) => (STORE_DRIVERS as readonly string[]).includes(name);
  for (const { name, bytes } of total.contributors.slice(0, 10)) {
    const ofTotal = `${((100 * bytes) / total.minifiedBytes).toFixed(0)}% of the total`;
    rows.push({
      name: `Worker bundle contributor: ${name}`,
      value: `${kb(bytes)} minified`,
      note: isDriver(name)
        ? `${ofTotal} (store driver)`
        : `${ofTotal}, ${((100 * bytes) / own.minifiedBytes).toFixed(0)}% of the bundle without drivers`,
    });
  }
  return rows;
}
