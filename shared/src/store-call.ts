import { LockError } from "./errors.ts";

/**
 * Runs one store operation under a deadline. A store that does not answer in time is
 * a NetworkTimeout: the operation may still complete in the store, which is why
 * acquire carries idempotency keys and grants carry TTLs.
 */
export async function callStore<T>(operation: () => Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new LockError("NetworkTimeout", `the store did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([operation(), timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
