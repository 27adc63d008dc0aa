/**
 * Makes sure Debian's chromium is installed for the browser test: when
 * /usr/bin/chromium is missing it runs `apt-get update && apt-get install -y chromium`
 * (the test machine runs as root) and fails loudly, naming the missing piece, otherwise.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

export const CHROMIUM_PATH = "/usr/bin/chromium";

export function ensureChromium(): string {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  // Said out loud: a test that changes the machine must not do it silently (README, "Tests").
  console.warn(
    `holdfast tests: ${CHROMIUM_PATH} is missing; installing Debian's chromium for the browser test ` +
      '("apt-get update && apt-get install -y chromium", root needed) …',
  );
  const run = (args: string[]) =>
    execFileSync("apt-get", args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      maxBuffer: 64 * 1024 * 1024,
    });
  try {
    run(["update"]);
    run(["install", "-y", "chromium"]);
  } catch (error) {
    const detail = (error as { stderr?: Buffer }).stderr?.toString().slice(-2000) ?? String(error);
    throw new Error(
      `the browser test needs Debian's chromium at ${CHROMIUM_PATH}; installing it with ` +
        `"apt-get update && apt-get install -y chromium" failed (root and a reachable Debian mirror are needed):\n${detail}`,
    );
  }
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is still missing`);
  }
  return CHROMIUM_PATH;
}

// `tsx sdk/test/support/chromium.ts` installs it ahead of a test run.
if (import.meta.url === `file://${process.argv[1]}`) console.log(ensureChromium());
