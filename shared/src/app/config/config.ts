/** Parsing of runtime configuration (env vars, Worker bindings): fail loudly, never half-work. */

/** Comma-separated origins, trimmed; empty entries dropped. */
export function parseCorsOrigins(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
}

/** A positive integer setting, or undefined when unset. Anything else is a configuration error. */
export function parsePositiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed <= 0)
    throw new Error(`${name} must be a positive integer, got "${value}"`);
  return parsed;
}

/** A variable that holds JSON: its value, or an Error naming the variable. */
export function parseJsonVariable(name: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new Error(`${name} is not valid JSON (${error instanceof Error ? error.message : error})`);
  }
}

export function assertPositiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${value}`);
  return value;
}
