/**
 * zod's English messages (zod/v4/locales/en.js), word for word, for the issues that the
 * request schemas (validation.ts) can raise without a message of their own: a wrong type,
 * an enum's wrong value, a number or string out of range, an unknown field. zod's file
 * also words some thirty string formats, unions, maps and sets that no schema here uses;
 * it weighed about 1 KB of the Worker bundle gzipped, this about a third of that. Any
 * other issue reads "Invalid input" (zod's own fallback), and a size reads "characters"
 * only for strings: a schema that checks another format, a union, or an array's length
 * needs its wording added here. test/worker-bundle.test.ts checks these messages
 * against zod's, and the schemas' issues against classic zod's.
 */

/** The fields of a zod issue that its message quotes. */
export interface IssueForMessage {
  code?: string;
  input?: unknown;
  expected?: string;
  values?: readonly unknown[];
  origin?: string;
  inclusive?: boolean;
  exact?: boolean;
  minimum?: number | bigint;
  maximum?: number | bigint;
  keys?: readonly string[];
}

/** As zod's util.parsedType, then its English type names (only NaN is renamed). */
function receivedType(data: unknown): string {
  const t = typeof data;
  if (t === "number") return Number.isNaN(data) ? "NaN" : Number.isFinite(data) ? "number" : String(data);
  if (t === "object") {
    if (data === null) return "null";
    if (Array.isArray(data)) return "array";
    const obj = data as { constructor?: { name: string } };
    if (Object.getPrototypeOf(obj) !== Object.prototype && "constructor" in obj && obj.constructor) {
      return obj.constructor.name;
    }
  }
  return t;
}

/** zod's util.stringifyPrimitive. */
const quoted = (value: unknown) =>
  typeof value === "bigint" ? `${value}n` : typeof value === "string" ? `"${value}"` : `${value}`;

function message(issue: IssueForMessage): string {
  switch (issue.code) {
    case "invalid_type":
      return `Invalid input: expected ${issue.expected === "nan" ? "NaN" : issue.expected}, received ${receivedType(issue.input)}`;
    case "invalid_value": {
      const values = issue.values ?? [];
      if (values.length === 1) return `Invalid input: expected ${quoted(values[0])}`;
      return `Invalid option: expected one of ${values.map(quoted).join("|")}`;
    }
    case "too_big":
    case "too_small": {
      const big = issue.code === "too_big";
      const adj = issue.exact ? "exactly " : `${big ? "<" : ">"}${issue.inclusive ? "=" : ""}`;
      const bound = `${adj}${(big ? issue.maximum : issue.minimum)?.toString()}`;
      const origin = big ? (issue.origin ?? "value") : issue.origin;
      const size = issue.origin === "string" ? " characters" : "";
      return `Too ${big ? "big" : "small"}: expected ${origin} to ${size ? "have" : "be"} ${bound}${size}`;
    }
    case "unrecognized_keys": {
      const keys = issue.keys ?? [];
      return `Unrecognized key${keys.length > 1 ? "s" : ""}: ${keys.map(quoted).join(", ")}`;
    }
    default:
      return "Invalid input";
  }
}

/** For `z.config()`, as zod's `en()`. */
export function english(): { localeError: (issue: IssueForMessage) => string } {
  return { localeError: message };
}
