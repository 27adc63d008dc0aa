/**
 * Keys, key ids and lockIds. A lockId is `<keyId>.<token>`: the keyId names the
 * store record (so release/extend/owns reach the key in one round trip without a
 * secondary index) and the token is 128 random bits, the capability itself.
 */
import type { LockRef } from "./model.ts";

export const MAX_KEY_BYTES = 512;
const ID_CHARS = 22; // 128 bits in unpadded base64url
export const LOCK_ID_PATTERN = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/;

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** True when the string has no lone surrogate (those would alias after UTF-8 encoding). */
export const isWellFormedString = (value: string): boolean => value.isWellFormed();

export function utf8Length(value: string): number {
  return encoder.encode(value).byteLength;
}

const TOKEN_BYTES = 16;
/** Random bytes drawn 4 KB at a time (one CSPRNG call per 256 tokens); each byte is used once. */
const randomPool = new Uint8Array(4096);
let poolOffset = randomPool.length;

/** A new grant secret: 128 bits from the platform's CSPRNG. */
export function newToken(): string {
  if (poolOffset + TOKEN_BYTES > randomPool.length) {
    crypto.getRandomValues(randomPool);
    poolOffset = 0;
  }
  const bytes = randomPool.subarray(poolOffset, poolOffset + TOKEN_BYTES);
  poolOffset += TOKEN_BYTES;
  return base64url(bytes);
}

/** Control characters (C0, DEL, C1): never in a tenant name. */
const CONTROL_CHARACTER = /\p{Cc}/u;

/** Throws unless `tenant` can name a tenant: no control character, no lone surrogate. */
export function assertTenantName(tenant: string): void {
  if (CONTROL_CHARACTER.test(tenant)) throw new RangeError(`tenant ${JSON.stringify(tenant)} has a control character`);
  if (!isWellFormedString(tenant)) throw new RangeError(`tenant ${JSON.stringify(tenant)} is not well-formed Unicode`);
}

/**
 * The ids of recently used keys: locks are taken on the same keys again and again, and a
 * digest is an asynchronous call to the platform (a thread hop in Node) on every acquire.
 * Bounded; emptied when full.
 */
const RECENT_KEY_IDS = 4096;
const recentKeyIds = new Map<string, string>();

/**
 * The store id of (tenant, key): 128 bits of SHA-256 over `tenant NUL key`, so that
 * tenants never share a record. The encoding is unambiguous because a tenant name holds
 * no NUL (assertTenantName): the first NUL ends it, whatever the key holds. Stores keep
 * tenant and key beside it and check them on acquire.
 */
export async function keyIdOf(tenant: string, key: string): Promise<string> {
  const name = `${tenant}\u0000${key}`;
  const known = recentKeyIds.get(name);
  if (known !== undefined) return known;
  assertTenantName(tenant);
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(name));
  const keyId = base64url(new Uint8Array(digest)).slice(0, ID_CHARS);
  if (recentKeyIds.size >= RECENT_KEY_IDS) recentKeyIds.clear();
  recentKeyIds.set(name, keyId);
  return keyId;
}

export function formatLockId(keyId: string, token: string): string {
  return `${keyId}.${token}`;
}

export function parseLockId(tenant: string, lockId: string): LockRef {
  if (!LOCK_ID_PATTERN.test(lockId)) throw new RangeError("malformed lockId");
  return { tenant, keyId: lockId.slice(0, ID_CHARS), token: lockId.slice(ID_CHARS + 1) };
}
