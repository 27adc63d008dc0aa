/** Helpers of the store suites (Upstash, Neon) that go beyond the shared contract. */
import { once } from "node:events";
import { createServer } from "node:net";
import { isLockError, newToken } from "@holdfast/shared";
import { keyHandle } from "@holdfast/shared/contract";

/** The contract's key handle on a fresh key of tenant "t", with a default TTL of its own. */
export async function lockHandle(label: string, { key = `${label}:${newToken()}`, ttlMs = 60_000 } = {}) {
  const handle = await keyHandle("t", key);
  return { ...handle, request: (overrides = {}) => handle.request({ ttlMs, ...overrides }) };
}

/** Resolves to the LockError code the promise rejects with ("resolved" if it did not). */
export async function codeOf(promise: Promise<unknown> | undefined): Promise<string> {
  try {
    await promise;
    return "resolved";
  } catch (error) {
    return isLockError(error) ? error.code : String(error);
  }
}

/** A port that was free a moment ago, for a throwaway store. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}
