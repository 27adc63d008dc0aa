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

export function toLockError(error: unknown): LockError {
  if (error instanceof LockError) return error;
  const failure = (typeof error === "object" && error !== null ? error : {}) as RpcFailure;
  const message = failure.message ?? String(error);
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
