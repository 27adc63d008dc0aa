/**
 * Runs a command (the arguments) with a marker of its own in its environment and fails,
 * naming and killing them, if processes it started are still running 5 s after it ended:
 * the leak check of vitest runs (leak-check-setup.ts) for the other steps of `npm test`.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { leftovers, MARKER } from "./leaks.ts";

const [command, ...args] = process.argv.slice(2);
if (!command) throw new Error("usage: check-leftovers.ts <command> [args…]");
const marker = `${process.pid}-${randomUUID()}`;
const child = spawn(command, args, { stdio: "inherit", env: { ...process.env, [MARKER]: marker } });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
const code: number = await new Promise((resolve) => child.once("exit", (status) => resolve(status ?? 1)));
const left = await leftovers({ marker, graceMs: 5000 });
for (const p of left)
  console.error(`left running (now killed): pid ${p.pid} (parent ${p.ppid}): ${p.cmdline.slice(0, 200)}`);
process.exit(left.length > 0 ? 1 : code);
