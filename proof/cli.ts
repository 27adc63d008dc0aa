/**
 * `npm run proof -- --url <deployment> --token <token>`: runs the mutex workload against
 * one Holdfast deployment, checks the history, prints what it counted and every violation
 * with the operations that show it, and exits 1 if there was one. Keys begin with
 * `--prefix` (default `holdfast-proof:`): give it a prefix nothing else uses.
 */
import { parseArgs } from "node:util";
import { check, formatViolations } from "./checker/checker.ts";
import type { Op } from "./checker/history.ts";
import { type MutexWorkload, runMutex } from "./driver/workload.ts";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    token: { type: "string", default: process.env.HOLDFAST_TOKEN ?? "dev" },
    prefix: { type: "string", default: "holdfast-proof:" },
    clients: { type: "string", default: "8" },
    keys: { type: "string", default: "3" },
    attempts: { type: "string", default: "50" },
    ttl: { type: "string", default: "2000" },
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
  },
});
if (!values.url) {
  console.error(
    "usage: npm run proof -- --url <https://your-deployment> --token <token> [--prefix p --clients n --keys n --attempts n --ttl ms --seed n]",
  );
  process.exit(2);
}
const ttlMs = Number(values.ttl);
const load: MutexWorkload = {
  clients: Number(values.clients),
  keys: Number(values.keys),
  attempts: Number(values.attempts),
  ttlMs,
  holdMs: ttlMs * 1.2,
  waitShare: 0.5,
  waitMs: ttlMs * 2,
  abandonShare: 0.1,
  seed: Number(values.seed),
  keyPrefix: values.prefix,
};
console.log(
  `proof: mutex workload against ${values.url}, seed ${load.seed}, ${load.clients} clients on ${load.keys} keys`,
);
const history = await runMutex({ url: values.url.replace(/\/$/, ""), token: values.token }, load);
console.log(summary(history));
const violations = check(history);
if (violations.length > 0) {
  console.log(`${violations.length} violation(s):\n${formatViolations(violations)}`);
  process.exit(1);
}
console.log("no violation");

function summary(ops: Op[]): string {
  const counts = new Map<string, number>();
  for (const op of ops) counts.set(`${op.type} ${op.outcome}`, (counts.get(`${op.type} ${op.outcome}`) ?? 0) + 1);
  return [...counts]
    .sort()
    .map(([what, n]) => `  ${what}: ${n}`)
    .join("\n");
}
