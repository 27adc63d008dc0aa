/**
 * `withlock <key> [options] -- <command…>`: runs a command while holding a Holdfast
 * lock. The lease is extended while the command runs; if it is lost the command gets
 * SIGTERM, then SIGKILL. SIGINT, SIGTERM and SIGHUP are forwarded to the command. The
 * lock is released when the command exits, and the command's exit status is passed on.
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { createClient, isLockError, type Lock } from "../src/index.ts";
import { parseArgs, USAGE } from "./args.ts";
import { EXIT } from "./exit-codes.ts";

/** How long the final release may take before withlock exits anyway (the TTL frees the key). */
const RELEASE_TIMEOUT_MS = 5000;
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

const say = (message: string) => process.stderr.write(`withlock: ${message}\n`);

async function main(argv: string[]): Promise<number> {
  // Only withlock's own arguments: the command's `-h` belongs to the command.
  const own = argv.includes("--") ? argv.slice(0, argv.indexOf("--")) : argv;
  if (own.includes("--help") || own.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const args = parseArgs(argv, process.env);
  if (typeof args === "string") {
    say(args);
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  const client = createClient({ url: args.url, token: args.token });

  // A signal while waiting for the lock stops the wait: there is no command yet.
  const stopWaiting = new AbortController();
  const onSignalWhileWaiting = (signal: NodeJS.Signals) => stopWaiting.abort(signal);
  for (const signal of FORWARDED) process.on(signal, onSignalWhileWaiting);
  let lock: Lock;
  try {
    const result = await client.acquire({
      key: args.key,
      ttlMs: args.ttlMs,
      waitMs: args.waitMs,
      autoExtend: true,
      signal: stopWaiting.signal,
    });
    if (!result.ok) {
      say(`"${args.key}" is held by another holder${args.waitMs ? ` (waited ${args.waitMs} ms)` : ""}`);
      return EXIT.held;
    }
    lock = result;
  } catch (error) {
    if (stopWaiting.signal.aborted) return 128 + signalNumber(stopWaiting.signal.reason);
    say(`lock service error: ${isLockError(error) ? `${error.code}: ${error.message}` : String(error)}`);
    return EXIT.unavailable;
  } finally {
    for (const signal of FORWARDED) process.off(signal, onSignalWhileWaiting);
  }
  return run(args.command, lock, args.killAfterMs);
}

async function run([program, ...rest]: [string, ...string[]], lock: Lock, killAfterMs: number): Promise<number> {
  // A lease that is already gone protects nothing: do not start the command.
  if (lock.signal.aborted) {
    say(`lease on "${lock.key}" lost before the command started (${(lock.signal.reason as Error).message})`);
    await lock.release({ signal: AbortSignal.timeout(RELEASE_TIMEOUT_MS) }).catch(() => {});
    return EXIT.leaseLost;
  }
  // Without a terminal, the command runs in its own process group, so that stopping it
  // stops what it started too. At a terminal it stays in the foreground group, so that it
  // can read the terminal (and Ctrl-C reaches the whole group there anyway).
  const child = spawn(program, rest, {
    stdio: "inherit",
    detached: !process.stdin.isTTY,
    env: { ...process.env, HOLDFAST_FENCE: lock.fence },
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      child.kill(signal); // the group is gone; the child may not be
    }
  };
  const forward = (signal: NodeJS.Signals) => signalGroup(signal);
  for (const signal of FORWARDED) process.on(signal, forward);

  let leaseLost = false;
  const onLost = () => {
    leaseLost = true;
    say(`lease on "${lock.key}" lost (${(lock.signal.reason as Error).message}); stopping the command`);
    signalGroup("SIGTERM");
    setTimeout(() => signalGroup("SIGKILL"), killAfterMs).unref();
  };
  lock.signal.addEventListener("abort", onLost, { once: true });

  const outcome = await new Promise<{ code: number } | { error: NodeJS.ErrnoException }>((resolve) => {
    child.once("error", (error) => resolve({ error }));
    child.once("exit", (code, signal) => resolve({ code: code ?? 128 + signalNumber(signal) }));
  });
  lock.signal.removeEventListener("abort", onLost);
  for (const signal of FORWARDED) process.off(signal, forward);
  // A second Ctrl-C during the final release must not kill withlock before it releases.
  const holdOn = () => say("releasing the lock, then exiting");
  for (const signal of FORWARDED) process.on(signal, holdOn);
  try {
    await lock.release({ signal: AbortSignal.timeout(RELEASE_TIMEOUT_MS) });
  } catch (error) {
    say(`could not release "${lock.key}" (its TTL will free it): ${String(error)}`);
  } finally {
    for (const signal of FORWARDED) process.off(signal, holdOn);
  }
  if ("error" in outcome) {
    say(`cannot run ${program}: ${outcome.error.message}`);
    return outcome.error.code === "ENOENT" ? EXIT.notFound : EXIT.cannotRun;
  }
  return leaseLost ? EXIT.leaseLost : outcome.code;
}

function signalNumber(signal: unknown): number {
  return constants.signals[signal as NodeJS.Signals] ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    say(`internal error: ${error?.stack ?? error}`);
    process.exit(EXIT.internal);
  },
);
