/**
 * Maps what the Neon serverless driver throws to LockError codes, by SQLSTATE where
 * Postgres gave one. A missing table or function means the schema was never set up:
 * the message says how to set it up.
 */
import { LockError } from "@holdfast/shared";

const UNAVAILABLE_CLASSES = ["08", "53", "57P01", "57P02", "57P03", "40001", "40P01", "55P03"];

export function toLockError(error: unknown): LockError {
  if (error instanceof LockError) return error;
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const cause = error instanceof Error ? error : new Error(message);
  // The driver wraps a failed fetch (our deadline included) and keeps the original.
  const source = (error as { sourceError?: unknown } | null)?.sourceError;
  const sourceName = source instanceof Error ? source.name : "";
  if ([name, sourceName].some((n) => n === "TimeoutError" || n === "AbortError") || code === "57014") {
    return new LockError("NetworkTimeout", "Neon Postgres did not answer in time", { cause });
  }
  if (typeof code === "string" && code.startsWith("28")) {
    return new LockError("AuthFailed", "Neon Postgres refused this service's credentials (DATABASE_URL)", { cause });
  }
  if (code === "42P01" || code === "42883") {
    return new LockError(
      "ServiceUnavailable",
      "Holdfast's tables are not in this database: run `npm run db:migrate` (or setupSchema()) against it",
      { cause },
    );
  }
  if (code === "HF001" || code === "HF002") return new LockError("Internal", message, { cause });
  if (typeof code === "string" && UNAVAILABLE_CLASSES.some((prefix) => code.startsWith(prefix))) {
    return new LockError("ServiceUnavailable", `Neon Postgres is unavailable (${code}); retry`, { cause });
  }
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
    // Any other SQL error from one of our own statements is a defect.
    return new LockError("Internal", `Neon Postgres rejected a lock statement (${code})`, { cause });
  }
  // The fetch failed, the proxy answered with an error page, the WebSocket closed.
  return new LockError("ServiceUnavailable", "Neon Postgres is unreachable; retry", { cause });
}
