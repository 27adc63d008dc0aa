/**
 * Maps what the Upstash REST client throws to LockError codes. Only a Redis error that
 * one of our own scripts caused is Internal (a bug); every other failure of the store —
 * unreachable, overloaded, out of memory, over its plan's quota, an error page from a
 * proxy — is ServiceUnavailable, and a call past its deadline is NetworkTimeout.
 * The client's messages end with the command it sent (lockIds among the arguments), so
 * no message is passed on whole: the cause keeps only the part before ", command was".
 */
import { LockError } from "@holdfast/shared";

/** Redis errors that only a defect of ours (or foreign data under our prefix) can cause. */
const SCRIPT_DEFECT = /holdfast:|user_script|Error (running|compiling) script|WRONGTYPE|wrong number of arguments/i;
const REFUSED_CREDENTIALS = /unauthori[sz]ed|WRONGPASS|NOAUTH|NOPERM|invalid token/i;

export function toLockError(error: unknown): LockError {
  if (error instanceof LockError) return error;
  const name = error instanceof Error ? error.name : "";
  const full = error instanceof Error ? error.message : String(error);
  const message = full.split(", command was:")[0] ?? full;
  const cause = new Error(message);
  if (name === "TimeoutError" || /timed? ?out/i.test(message)) {
    return new LockError("NetworkTimeout", "Upstash Redis did not answer in time", { cause });
  }
  if (REFUSED_CREDENTIALS.test(message)) {
    // The service's own credentials, not the caller's token: a deployment to fix, so the
    // message says which setting, and the client is told at once instead of retrying.
    return new LockError("AuthFailed", "Upstash Redis refused this service's credentials (UPSTASH_REDIS_REST_TOKEN)", {
      cause,
    });
  }
  if (name === "UpstashError" && SCRIPT_DEFECT.test(message)) {
    return new LockError("Internal", `Upstash Redis rejected a lock script: ${message}`, { cause });
  }
  return new LockError("ServiceUnavailable", `Upstash Redis is unavailable (${brief(message)}); retry`, { cause });
}

/** The first line of a store's message, short, for the client's error. */
function brief(message: string): string {
  const line = message.split("\n")[0] ?? message;
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}
