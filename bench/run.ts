/**
 * `npm run bench`: runs every `bench/*.bench.ts` (or those named on the command line)
 * and prints one table. Each module's default export returns its rows.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface BenchRow {
  /** What was measured, e.g. "handoff p50 (durable-object, 16 contenders)". */
  name: string;
  value: string;
  /** The goal or anchor it is compared with, if any. */
  goal?: string;
  note?: string;
}

export type Bench = () => Promise<BenchRow[]>;

const here = fileURLToPath(new URL(".", import.meta.url));
const wanted = process.argv.slice(2);
const modules = readdirSync(here)
  .filter((file) => file.endsWith(".bench.ts"))
  .filter((file) => wanted.length === 0 || wanted.some((name) => file.includes(name)))
  .sort();

const rows: BenchRow[] = [];
for (const file of modules) {
  console.error(`running ${file} …`);
  const bench = (await import(`./${file}`)) as { default: Bench };
  rows.push(...(await bench.default()));
}

console.log("\n| measure | value | goal | note |\n|---|---|---|---|");
for (const row of rows) console.log(`| ${row.name} | ${row.value} | ${row.goal ?? ""} | ${row.note ?? ""} |`);
