/**
 * `npm run bench`: runs every `bench/*.bench.ts` (or those named on the command line),
 * prints one table and writes it, with the command, the machine and the date, to
 * docs/benchmarks.md (`--out PATH` or BENCH_OUT overrides the path). `--quick` runs each
 * measurement briefly, and writes to the temp dir unless told otherwise — `npm test` does,
 * so that the benchmark never rots; its numbers mean nothing.
 * Goals are reported beside the figures, never asserted.
 */
import { readdirSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
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

const args = process.argv.slice(2);
const quick = args.includes("--quick");
if (quick) {
  // Before any bench module reads them.
  process.env.BENCH_QUICK = "1";
  process.env.BENCH_SECONDS ??= "0.5";
  process.env.BENCH_ROUNDS ??= "1";
  process.env.BENCH_PAIRS ??= "20";
}
const outFlag = args.indexOf("--out");
const outArg = outFlag >= 0 ? args[outFlag + 1] : undefined;
const wanted = args.filter((arg, i) => !arg.startsWith("--") && (outFlag < 0 || i !== outFlag + 1));
const here = fileURLToPath(new URL(".", import.meta.url));
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

const table = [
  "| measure | value | goal | note |",
  "|---|---|---|---|",
  ...rows.map((row) => `| ${row.name} | ${row.value} | ${row.goal ?? ""} | ${row.note ?? ""} |`),
].join("\n");
console.log(`\n${table}`);

const cpu = cpus()[0]?.model ?? "unknown CPU";
const report = `# Benchmarks

Written by \`npm run bench${args.length > 0 ? ` -- ${args.join(" ")}` : ""}\` on ${new Date().toISOString()}.
Machine: ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}.
Client, servers and stores share this machine. Each figure is the median of interleaved
rounds (\`BENCH_ROUNDS\`) and is stated beside its floor, measured in the same run;
figures from another run or another day are not comparable.${quick ? "\n\n**A `--quick` run: too short to mean anything.**" : ""}

${table}
`;
const out =
  outArg ??
  process.env.BENCH_OUT ??
  (quick
    ? join(tmpdir(), "holdfast-benchmarks-quick.md")
    : fileURLToPath(new URL("../docs/benchmarks.md", import.meta.url)));
writeFileSync(out, report);
console.error(`wrote ${out}`);
