/**
 * Bearer tokens, tenants and scopes. A token maps to one tenant (every key is
 * namespaced by it) and a set of scopes: `lock` (acquire, release, extend),
 * `read` (owns, lookup), `admin` (everything, and raw lockIds in lookup).
 */
import { LockError } from "../../errors.ts";
import { assertTenantName } from "../../keys.ts";
import { parseJsonVariable } from "../config/config.ts";

export type Scope = "lock" | "read" | "admin";

export interface Principal {
  /**
   * Who is calling, within the tenant: idempotency keys are scoped to it. Never a
   * secret (a static token's id is a digest of it).
   */
  id: string;
  tenant: string;
  scopes: readonly Scope[];
  /** A browser token's key prefixes: acquire and lookup only for keys that start with one. Absent: every key. */
  keyPrefixes?: readonly string[];
}

export type Authenticator = (token: string) => Promise<Principal | null>;

/** A configured token: the token itself, or its SHA-256 (hex) so that the secret is not kept in plain text. */
export type TokenEntry = ({ token: string } | { sha256: string }) & {
  tenant: string;
  scopes: readonly Scope[];
};

const encoder = new TextEncoder();

async function digest(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(value)));
}

const SHA256_HEX = /^[0-9a-f]{64}$/i;

function hexBytes(hex: string): Uint8Array {
  if (!SHA256_HEX.test(hex)) throw new RangeError("a token's sha256 is 64 hex digits");
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

/** 96 bits of the token's digest, hex: names the token in idempotency scopes without revealing it. */
function principalIdOf(tokenDigest: Uint8Array): string {
  return Array.from(tokenDigest.subarray(0, 12), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Compares digests so that neither the length nor the content leaks through timing. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}

const VERIFIED_CACHE_SIZE = 256;

const digestOf = (entry: TokenEntry) =>
  "token" in entry ? digest(entry.token) : Promise.resolve(hexBytes(entry.sha256));

/**
 * The first two entries that are one token (given once plainly and once as its sha256,
 * which the synchronous config check cannot see), as their indexes; undefined if none.
 */
export async function repeatedToken(entries: readonly TokenEntry[]): Promise<[number, number] | undefined> {
  const digests = await Promise.all(entries.map(digestOf));
  for (let j = 0; j < digests.length; j++) {
    for (let i = 0; i < j; i++) {
      if (equalBytes(digests[i] as Uint8Array, digests[j] as Uint8Array)) return [i, j];
    }
  }
  return undefined;
}

/**
 * An authenticator over a fixed list of tokens (from configuration or secrets).
 * Tokens are compared by digest; a verified token is remembered (bounded) because
 * WebCrypto digests cost a thread hop on some runtimes and this runs on every request.
 */
export function staticTokens(entries: readonly TokenEntry[]): Authenticator {
  for (const entry of entries) assertTenantName(entry.tenant);
  const digests = Promise.all(
    entries.map(async (entry) => {
      const bytes = await digestOf(entry);
      return { entry, digest: bytes, id: `token:${principalIdOf(bytes)}` };
    }),
  );
  const verified = new Map<string, Principal>();
  return async (token) => {
    const known = verified.get(token);
    if (known) return known;
    const presented = await digest(token);
    let match: Principal | null = null;
    let matches = 0;
    for (const candidate of await digests) {
      if (equalBytes(candidate.digest, presented)) {
        matches++;
        match = { id: candidate.id, tenant: candidate.entry.tenant, scopes: candidate.entry.scopes };
      }
    }
    // One token configured twice (plainly and as its sha256), maybe for two tenants: which one was meant is unknown.
    if (matches > 1) {
      throw new LockError("ServiceUnavailable", "misconfigured: this token is listed twice in HOLDFAST_TOKENS");
    }
    if (match) {
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.clear();
      verified.set(token, match);
    }
    return match;
  };
}

/**
 * Parses `HOLDFAST_TOKENS` (JSON: `[{"token" or "sha256","tenant","scopes"}]`) or, failing that,
 * one `HOLDFAST_TOKEN` for tenant "default" with every scope.
 */
export function tokensFromEnv(env: {
  HOLDFAST_TOKENS?: string | undefined;
  HOLDFAST_TOKEN?: string | undefined;
}): TokenEntry[] {
  if (env.HOLDFAST_TOKENS) {
    const parsed = parseJsonVariable("HOLDFAST_TOKENS", env.HOLDFAST_TOKENS);
    if (!Array.isArray(parsed)) throw new Error("HOLDFAST_TOKENS must be a JSON array");
    const seen = new Set<string>();
    return parsed.map((raw: { token?: unknown; sha256?: unknown; tenant?: unknown; scopes?: unknown }, index) => {
      const at = `HOLDFAST_TOKENS[${index}]`;
      if (typeof raw.tenant !== "string" || (typeof raw.token === "string") === (typeof raw.sha256 === "string")) {
        throw new Error(`${at} needs a tenant and either a token or its sha256`);
      }
      let secret: { token: string } | { sha256: string };
      if (typeof raw.token === "string") {
        assertBearerToken(`${at}.token`, raw.token);
        secret = { token: raw.token };
      } else {
        const sha256 = String(raw.sha256).toLowerCase();
        if (!SHA256_HEX.test(sha256)) throw new Error(`${at}.sha256: the token's SHA-256 as 64 hex digits`);
        secret = { sha256 };
      }
      const identity = "token" in secret ? `token ${secret.token}` : `sha256 ${secret.sha256}`;
      if (seen.has(identity))
        throw new Error(`${at}.${"token" in secret ? "token" : "sha256"} repeats an earlier entry's`);
      seen.add(identity);
      try {
        assertTenantName(raw.tenant);
      } catch (error) {
        throw new Error(`${at}.tenant: ${error instanceof Error ? error.message : error}`);
      }
      const scopes = raw.scopes ?? ["lock", "read"];
      if (!Array.isArray(scopes) || !scopes.every((s) => s === "lock" || s === "read" || s === "admin")) {
        throw new Error(`${at}.scopes: use lock, read, admin`);
      }
      return { ...secret, tenant: raw.tenant, scopes: scopes as Scope[] };
    });
  }
  if (env.HOLDFAST_TOKEN) {
    assertBearerToken("HOLDFAST_TOKEN", env.HOLDFAST_TOKEN);
    return [{ token: env.HOLDFAST_TOKEN, tenant: "default", scopes: ["lock", "read", "admin"] }];
  }
  throw new Error("set HOLDFAST_TOKEN or HOLDFAST_TOKENS");
}

/** What `Authorization: Bearer <token>` can carry (see authenticate): anything else could never match. */
const BEARER_TOKEN = /^[\x21-\x7e]{1,4096}$/;

function assertBearerToken(name: string, token: string): void {
  if (!BEARER_TOKEN.test(token)) {
    throw new Error(`${name}: a token is 1 to 4096 printable ASCII characters, without spaces`);
  }
}

export function hasScope(principal: Principal, needed: Scope): boolean {
  return principal.scopes.includes("admin") || principal.scopes.includes(needed);
}

export async function authenticate(header: string | undefined, auth: Authenticator): Promise<Principal> {
  const match = header?.match(/^Bearer ([\x21-\x7e]{1,4096})$/i);
  if (!match?.[1]) throw new LockError("AuthFailed", "missing or malformed Authorization: Bearer <token>");
  const principal = await auth(match[1]);
  if (!principal) throw new LockError("AuthFailed", "unknown token");
  // Idempotency keys are scoped by it: an authenticator (plain JavaScript) that leaves it out is a bug.
  if (typeof principal.id !== "string" || principal.id.length === 0) {
    throw new LockError("Internal", "the authenticator returned a principal without an id");
  }
  return principal;
}

/** Acquire and lookup name a key: a browser token reaches only the keys under its prefixes. */
export function requireKeyAllowed(principal: Principal, key: string): void {
  const prefixes = principal.keyPrefixes;
  if (prefixes === undefined || prefixes.some((prefix) => key.startsWith(prefix))) return;
  throw new LockError("AuthFailed", "this token may not lock or look up this key (outside its key prefixes)", {
    status: 403,
  });
}

/** The first authenticator that knows the token answers; null when none does. */
export function anyOf(...authenticators: Authenticator[]): Authenticator {
  return async (token) => {
    for (const authenticate of authenticators) {
      const principal = await authenticate(token);
      if (principal) return principal;
    }
    return null;
  };
}

export function requireScope(principal: Principal, ...anyOf: Scope[]): void {
  if (!anyOf.some((scope) => hasScope(principal, scope))) {
    throw new LockError("AuthFailed", `this token lacks the ${anyOf.join(" or ")} scope`, { status: 403 });
  }
}
