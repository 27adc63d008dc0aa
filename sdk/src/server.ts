/**
 * `holdfast/server`: the entry for code that runs only on your own servers, kept apart
 * from the browser entry (`holdfast`) so that none of it reaches a browser bundle.
 *
 * It mints browser tokens (shared/SPEC.md §7): short-lived JWTs that your backend signs
 * with a secret it shares with the service (`HOLDFAST_JWT_SECRETS`) and hands to a browser,
 * which can then lock only the keys under the token's prefixes. Built on WebCrypto, so it
 * runs on Node, Workers, Deno and Bun.
 */

/** What a browser token may do: `lock` (acquire, release, extend) and `read` (owns, lookup). */
export type BrowserTokenScope = "lock" | "read";

/** The payload of a browser token. A token that claims `admin` is refused. */
export interface BrowserTokenClaims {
  /** Always "holdfast". */
  aud: "holdfast";
  /** Expiry, in seconds since the epoch (JWT NumericDate); at most 24 h ahead. */
  exp: number;
  /** The tenant whose keys the token reaches. */
  tenant: string;
  /** The principal: the user or device the token was minted for. */
  sub: string;
  /** Space-separated scopes, e.g. "lock read". */
  scope: string;
  /**
   * Key prefixes: acquire and lookup only for keys that start with one of them. A lockId
   * stays the capability for release, extend and owns.
   */
  keys: readonly string[];
}

export interface MintTokenOptions {
  /** The HS256 secret, as configured in the service's `HOLDFAST_JWT_SECRETS` under `kid`. */
  secret: string;
  /** The secret's name in `HOLDFAST_JWT_SECRETS`. */
  kid: string;
  tenant: string;
  /** Who the token is for (a user id): idempotency keys are scoped to it. */
  sub: string;
  /** Key prefixes the token may acquire and look up, e.g. ["user:42:"]. */
  keys: readonly string[];
  /** Default ["lock", "read"]. */
  scope?: readonly BrowserTokenScope[];
  /** Lifetime in seconds (default 900; at most 86400). */
  ttlSeconds?: number;
  /** The clock to count `exp` from, in ms (default Date.now). */
  now?: () => number;
}

const MAX_TTL_SECONDS = 86_400;

/** Signs a browser token (HS256). The service refuses it once `exp` has passed. */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  const { secret, kid, tenant, sub, keys, scope = ["lock", "read"], ttlSeconds = 900 } = options;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
    throw new RangeError(`ttlSeconds is an integer from 1 to ${MAX_TTL_SECONDS}`);
  }
  if (scope.length === 0 || !scope.every((s) => s === "lock" || s === "read")) {
    throw new RangeError('scope lists "lock" and/or "read" (a browser token never has admin)');
  }
  if (keys.length === 0) throw new RangeError("keys lists at least one key prefix");
  const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000);
  const claims: BrowserTokenClaims & { iat: number } = {
    aud: "holdfast",
    iat: nowSeconds,
    exp: nowSeconds + ttlSeconds,
    tenant,
    sub,
    scope: scope.join(" "),
    keys,
  };
  const signingInput = `${base64url(JSON.stringify({ alg: "HS256", typ: "JWT", kid }))}.${base64url(JSON.stringify(claims))}`;
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(signingInput));
  return `${signingInput}.${base64url(new Uint8Array(signature))}`;
}

const encoder = new TextEncoder();

function base64url(value: string | Uint8Array): string {
  const bytes = typeof value === "string" ? encoder.encode(value) : value;
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
