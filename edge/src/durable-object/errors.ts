/**
 * Maps Durable Object RPC failures to LockError codes. Nothing is retried here: a
 * retried acquire could grant twice and a retried release could answer a false
 * "not held", so the client (with its idempotency key) decides.
 */
import { LockError } from "@holdfast/shared";

interface RpcFailure {
  message?: string;
  remote?: boolean;
  retryable?: boolean;
  overloaded?: boolean;
}

/**
 * What the object puts in front of a storage error's message. Errors reach the Worker
 * through RPC as their name and message only, so the message is what tells a store that
 * failed (unavailable: retry) from a defect of ours (Internal).
 */
export const STORAGE_FAILURE = "Durable Object storage failed";

/** Runs a storage call inside the object; its failure becomes one the Worker can recognise. */
export function inStorage<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw new Error(`${STORAGE_FAILURE}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

export function toLockError(error: unknown): LockError {
  if (error instanceof LockError) return error;
  const failure = (typeof error === "object" && error !== null ? error : {}) as RpcFailure;
  const message = failure.message ?? String(error);
  if (message.startsWith(STORAGE_FAILURE)) {
    return new LockError("ServiceUnavailable", "the lock's Durable Object storage failed; retry", { cause: error });
  }
  if (/timed? ?out|deadline/i.test(message)) {
    return new LockError("NetworkTimeout", "the lock's Durable Object did not answer in time", { cause: error });
  }
  if (failure.overloaded || failure.retryable || !failure.remote) {
    return new LockError("ServiceUnavailable", "the lock's Durable Object is unavailable; retry", { cause: error });
  }
  return new LockError("Internal", "the lock's Durable Object failed", { cause: error });
}

/**
 * Runs one RPC. Workers' RPC types wrap union results in promise-pipelining types that
 * do not narrow; the object's methods return plain structured-clone data of type T.
 */
export async function rpc<T>(call: () => PromiseLike<unknown>): Promise<T> {
  try {
    return (await call()) as T;
  } catch (error) {
    throw toLockError(error);
  }
}
