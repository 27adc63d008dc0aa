/** `withlock` command-line parsing: options before `--`, the command after it. */

export const USAGE = `usage: withlock <key> [--ttl ms] [--wait ms] [--kill-after ms] [--url url] [--token token] -- <command…>

  --ttl ms         lease length, kept alive while the command runs (default 30000)
  --wait ms        how long to wait for a held key (default 0: fail at once)
  --kill-after ms  after a lost lease, SIGTERM, then SIGKILL this much later (default 5000)
  --url url        the Holdfast service (default $HOLDFAST_URL, else http://127.0.0.1:8787)
  --token token    bearer token (default $HOLDFAST_TOKEN)

exit codes: the command's own; 64 usage; 69 lock service error; 75 key held;
            76 lease lost (command stopped); 126/127 command not runnable / not found`;

export interface CliArgs {
  key: string;
  ttlMs: number;
  waitMs: number;
  killAfterMs: number;
  url: string;
  token: string;
  command: [string, ...string[]];
}

const NUMERIC = { "--ttl": "ttlMs", "--wait": "waitMs", "--kill-after": "killAfterMs" } as const;

/** Returns the parsed arguments, or the reason they are unusable. */
export function parseArgs(argv: readonly string[], env: Record<string, string | undefined>): CliArgs | string {
  const separator = argv.indexOf("--");
  if (separator < 0) return "missing `--` before the command";
  const [program, ...args] = argv.slice(separator + 1);
  if (program === undefined) return "missing the command after `--`";
  const options = argv.slice(0, separator);
  const parsed = {
    ttlMs: 30_000,
    waitMs: 0,
    killAfterMs: 5000,
    url: env.HOLDFAST_URL || "http://127.0.0.1:8787",
    token: env.HOLDFAST_TOKEN ?? "",
  };
  let key: string | undefined;
  for (let i = 0; i < options.length; i++) {
    const option = options[i] as string;
    if (!option.startsWith("--")) {
      if (key !== undefined) return `unexpected argument ${JSON.stringify(option)} (the command goes after \`--\`)`;
      key = option;
      continue;
    }
    const value = options[++i];
    if (value === undefined) return `${option} needs a value`;
    if (option === "--url" || option === "--token") {
      parsed[option === "--url" ? "url" : "token"] = value;
    } else if (option in NUMERIC) {
      const ms = Number(value);
      if (!Number.isInteger(ms) || ms < 0) return `${option} takes a whole number of milliseconds`;
      parsed[NUMERIC[option as keyof typeof NUMERIC]] = ms;
    } else {
      return `unknown option ${option}`;
    }
  }
  if (key === undefined) return "missing the lock key";
  if (!parsed.token) return "no token: pass --token or set HOLDFAST_TOKEN";
  return { key, ...parsed, command: [program, ...args] };
}
