/**
 * Maps what the Upstash REST client throws to LockError codes. The client's messages
 * end with the command it sent (lockIds among the arguments), so no message is passed on
 * whole: the cause keeps only the part before ", command was".
 */
import { LockError } from "@holdfast/shared";

const TRANSIENT =
  /redis unavailable|LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|max( number of)? clients|connection/i;

export function toLockError(error: unknown): LockError {
  if (error instanceof LockError) return error;
  const name = error instanceof Error ? error.name : "";
  const full = error instanceof Error ? error.message : String(error);
  const message = full.split(", command was:")[0] ?? full;
  const cause = new Error(message);
  if (name === "TimeoutError" || /timed? ?out/i.test(message)) {
    return new LockError("NetworkTimeout", "Upstash Redis did not answer in time", { cause });
  }
  if (/unauthori[sz]ed|WRONGPASS|NOAUTH|NOPERM|invalid token/i.test(message)) {
    return new LockError("AuthFailed", "Upstash Redis refused this service's credentials (UPSTASH_REDIS_REST_TOKEN)", {
      cause,
    });
  }
  if (name === "UpstashError" && !TRANSIENT.test(message)) {
    // A Redis error reply to one of our own scripts is a bug (or foreign data under our prefix).
    return new LockError("Internal", `Upstash Redis rejected a lock script: ${message}`, { cause });
  }
  // Network failures (fetch threw after the client's retries), proxy error pages, a Redis
  // behind the REST API that is down or loading.
  return new LockError("ServiceUnavailable", "Upstash Redis is unreachable; retry", { cause });
}
