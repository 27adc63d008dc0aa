/**
 * Browser tokens (SPEC §7): short-lived JWTs that the customer's backend signs and this
 * service verifies (./jws.ts, Web Crypto). HS256 with a secret named by the token's `kid`
 * (`HOLDFAST_JWT_SECRETS`, so that secrets rotate: add the new kid, mint with it, drop the
 * old one once its tokens have expired), or ES256/RS256 from a JWKS URL.
 *
 * A browser token is never more than its claims say: the `lock`/`read` scopes (never
 * `admin`), one tenant (a secret may be bound to one, so that one customer's secret cannot
 * mint for another), and key prefixes for acquire and lookup. A lockId stays the
 * capability for release, extend and owns.
 */
import { LockError } from "../../errors.ts";
import { assertTenantName, isWellFormedString, MAX_KEY_BYTES, utf8Length } from "../../keys.ts";
import type { Authenticator, Principal, Scope } from "./auth.ts";
import { type KeySet, type PublicJwk, remoteKeySet } from "./jwks.ts";
import {
  decodeJsonPart,
  importHmacSecret,
  importPublicJwk,
  type JwsAlgorithm,
  JwsError,
  verifyCompactJws,
} from "./jws.ts";

/** A token may live at most this long, counted from now (its `exp`). */
export const MAX_BROWSER_TOKEN_LIFETIME_S = 24 * 60 * 60;
/** Clock difference tolerated between the minting backend and this service. */
const CLOCK_TOLERANCE_S = 5;
/** An HS256 secret shorter than the hash (256 bits) weakens it: refused. */
const MIN_SECRET_BYTES = 32;
const VERIFIED_CACHE_SIZE = 1024;
const AUDIENCE = "holdfast";

export interface JwtSecret {
  secret: string;
  /** The only tenant tokens signed with this secret may name (default: any). */
  tenant?: string;
}

export interface JwtOptions {
  /** HS256 secrets by `kid`. */
  secrets?: Readonly<Record<string, JwtSecret>>;
  /** ES256/RS256 public keys. */
  jwksUrl?: string;
  /** The issuer (`iss`) that tokens verified against the JWKS must name. */
  jwksIssuer?: string;
  /** The only tenant tokens verified against the JWKS may name (as a secret's `tenant`). */
  jwksTenant?: string;
  /** This service's clock, in ms (tests move it). */
  now?: () => number;
}

type Claims = Record<string, unknown>;

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

const encoder = new TextEncoder();
const refuse = (why: string) => new LockError("AuthFailed", `browser token refused: ${why}`);

/** The key that verifies one token, and what that key may sign. */
interface Verifier {
  alg: JwsAlgorithm;
  key: CryptoKey;
  tenant: string | undefined;
  issuer?: string;
  /**
   * Whose tokens these are, in the principal's id: two issuers may both have a user "u1"
   * in one tenant, and their idempotency keys must not meet. An HS256 secret is one
   * issuer (by kid); the JWKS is one.
   */
  signer: string;
}

export function jwtTokens(options: JwtOptions): Authenticator {
  const now = options.now ?? Date.now;
  const secrets = new Map(
    Object.entries(options.secrets ?? {}).map(([kid, { secret, tenant }]) => {
      assertSecret(kid, secret);
      if (tenant !== undefined) assertTenantName(tenant);
      return [kid, { key: importHmacSecret(secret), tenant }] as const;
    }),
  );
  const jwks: KeySet | undefined = options.jwksUrl ? remoteKeySet(options.jwksUrl, now) : undefined;
  // Imported once per key the JWKS lists (a refetched set brings new objects, so new imports).
  const imported = new WeakMap<PublicJwk, Promise<CryptoKey>>();
  const verified = new Map<string, { principal: Principal; expMs: number }>();

  /** The verifier of a token's header, null when the token is not ours to judge. */
  const verifierOf = async (alg: unknown, kid: unknown): Promise<Verifier | null> => {
    if (alg === "HS256") {
      const secret = typeof kid === "string" ? secrets.get(kid) : undefined;
      if (!secret) throw refuse(`no HS256 secret has the kid ${JSON.stringify(kid ?? null)}`);
      return { alg, key: await secret.key, tenant: secret.tenant, signer: `kid:${encodeURIComponent(String(kid))}` };
    }
    // Not one of ours (another authenticator may know it, e.g. a Firebase ID token).
    if (!jwks || (alg !== "ES256" && alg !== "RS256") || typeof kid !== "string") return null;
    let jwk: PublicJwk | undefined;
    try {
      jwk = await jwks.keyFor(kid);
    } catch (error) {
      throw refuse(`its key set could not be fetched (${error instanceof Error ? error.message : error})`);
    }
    // Signed by a key the JWKS does not have: another authenticator's (a Firebase ID token).
    if (!jwk) return null;
    if (jwk.kty !== (alg === "ES256" ? "EC" : "RSA") || (jwk.alg !== undefined && jwk.alg !== alg)) {
      throw refuse(`the JWKS key ${JSON.stringify(kid)} is not an ${alg} key`);
    }
    let key = imported.get(jwk);
    if (!key) {
      key = importPublicJwk(jwk, alg);
      imported.set(jwk, key);
    }
    try {
      return {
        alg,
        key: await key,
        tenant: options.jwksTenant,
        signer: "jwks",
        ...(options.jwksIssuer === undefined ? {} : { issuer: options.jwksIssuer }),
      };
    } catch {
      throw refuse(`the JWKS key ${JSON.stringify(kid)} is not a valid ${alg} public key`);
    }
  };

  return async (token) => {
    if (!looksLikeJwt(token)) return null;
    const known = verified.get(token);
    if (known && known.expMs > now()) return known.principal;
    const header = decodeJsonPart(token.slice(0, token.indexOf(".")));
    if (!header) return null;
    const verifier = await verifierOf(header.alg, header.kid);
    if (!verifier) return null;
    let claims: Claims;
    try {
      // The signature first: nothing a token claims counts before it has verified.
      claims = await verifyCompactJws(token, verifier.alg, verifier.key);
    } catch (error) {
      throw refuse(error instanceof JwsError ? error.message : "it could not be verified");
    }
    checkRegisteredClaims(claims, verifier.issuer, now());
    const principal = principalOf(claims, verifier, now());
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.clear();
    verified.set(token, { principal, expMs: (claims.exp as number) * 1000 });
    return principal;
  };
}

function assertSecret(kid: string, secret: string): void {
  if (kid.length === 0) throw new Error("a JWT secret's kid is not empty");
  if (encoder.encode(secret).length < MIN_SECRET_BYTES) {
    throw new Error(`the JWT secret of kid "${kid}" is shorter than ${MIN_SECRET_BYTES} bytes`);
  }
}

/** exp (required), nbf, iat, aud and, for a JWKS, iss, on this service's clock. */
function checkRegisteredClaims(claims: Claims, issuer: string | undefined, nowMs: number): void {
  const nowS = nowMs / 1000;
  const { exp, nbf, iat, aud, iss } = claims;
  const isTime = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);
  if (!isTime(exp)) throw refuse('claim exp: missing or not a number ("exp" is required)');
  if (exp <= nowS - CLOCK_TOLERANCE_S) throw refuse("it has expired");
  if (nbf !== undefined && (!isTime(nbf) || nbf > nowS + CLOCK_TOLERANCE_S)) throw refuse("claim nbf: not yet valid");
  if (iat !== undefined && !isTime(iat)) throw refuse("claim iat: not a number");
  if (!(Array.isArray(aud) ? aud.includes(AUDIENCE) : aud === AUDIENCE)) throw refuse(`claim aud: not "${AUDIENCE}"`);
  if (issuer !== undefined && iss !== issuer) throw refuse(`claim iss: not ${JSON.stringify(issuer)}`);
}

/** Holdfast's own claims: lifetime cap, sub, tenant, scopes, key prefixes. */
function principalOf(claims: Claims, { tenant: boundTenant, signer }: Verifier, nowMs: number): Principal {
  const { exp, sub, tenant, scope, keys } = claims as Claims & { exp: number };
  if (exp > nowMs / 1000 + MAX_BROWSER_TOKEN_LIFETIME_S + CLOCK_TOLERANCE_S) {
    throw refuse(`exp is more than ${MAX_BROWSER_TOKEN_LIFETIME_S / 3600} h ahead`);
  }
  if (typeof sub !== "string" || sub.length === 0 || sub.length > 256) throw refuse("sub is 1 to 256 characters");
  if (typeof tenant !== "string") throw refuse("tenant is a string");
  try {
    assertTenantName(tenant);
  } catch (error) {
    throw refuse(`tenant: ${error instanceof Error ? error.message : error}`);
  }
  if (boundTenant !== undefined && tenant !== boundTenant) throw refuse("its secret may not sign for this tenant");
  const scopes = typeof scope === "string" ? scope.split(" ").filter(Boolean) : [];
  if (scopes.length === 0 || !scopes.every((s) => s === "lock" || s === "read")) {
    throw refuse('scope is a space-separated list of "lock" and "read"');
  }
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 64) throw refuse("keys lists 1 to 64 key prefixes");
  const wellFormed = (prefix: unknown) =>
    typeof prefix === "string" && isWellFormedString(prefix) && utf8Length(prefix.normalize("NFC")) <= MAX_KEY_BYTES;
  if (!keys.every(wellFormed)) throw refuse(`keys are strings of at most ${MAX_KEY_BYTES} bytes of UTF-8`);
  return {
    id: `${signer}/sub:${sub}`,
    tenant,
    scopes: [...new Set(scopes)] as Scope[],
    keyPrefixes: keys.map((prefix: string) => prefix.normalize("NFC")),
  };
}
