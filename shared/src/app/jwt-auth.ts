/**
 * Browser tokens (SPEC §7): short-lived JWTs that the customer's backend signs and this
 * service verifies with `jose`. HS256 with a secret named by the token's `kid`
 * (`HOLDFAST_JWT_SECRETS`, so that secrets rotate: add the new kid, mint with it, drop the
 * old one once its tokens have expired), or ES256/RS256 from a JWKS URL.
 *
 * A browser token is never more than its claims say: the `lock`/`read` scopes (never
 * `admin`), one tenant (a secret may be bound to one, so that one customer's secret cannot
 * mint for another), and key prefixes for acquire and lookup. A lockId stays the
 * capability for release, extend and owns.
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from "jose";
import { LockError } from "../errors.ts";
import { assertTenantName, isWellFormedString, MAX_KEY_BYTES, utf8Length } from "../keys.ts";
import type { Authenticator, Principal, Scope } from "./auth.ts";

/** A token may live at most this long, counted from now (its `exp`). */
export const MAX_BROWSER_TOKEN_LIFETIME_S = 24 * 60 * 60;
/** Clock difference tolerated between the minting backend and this service. */
const CLOCK_TOLERANCE_S = 5;
/** An HS256 secret shorter than the hash (256 bits) weakens it: refused. */
const MIN_SECRET_BYTES = 32;
const VERIFIED_CACHE_SIZE = 1024;

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

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

const encoder = new TextEncoder();
const refuse = (why: string) => new LockError("AuthFailed", `browser token refused: ${why}`);

export function jwtTokens(options: JwtOptions): Authenticator {
  const now = options.now ?? Date.now;
  const secrets = new Map(
    Object.entries(options.secrets ?? {}).map(([kid, { secret, tenant }]) => {
      assertSecret(kid, secret);
      if (tenant !== undefined) assertTenantName(tenant);
      return [kid, { key: encoder.encode(secret), tenant }] as const;
    }),
  );
  const jwks = options.jwksUrl ? createRemoteJWKSet(new URL(options.jwksUrl)) : undefined;
  const verified = new Map<string, { principal: Principal; expMs: number }>();

  return async (token) => {
    if (!looksLikeJwt(token)) return null;
    const known = verified.get(token);
    if (known && known.expMs > now()) return known.principal;
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return null;
    }
    const verifyOptions = {
      audience: "holdfast",
      requiredClaims: ["exp", "sub", "tenant", "scope", "keys"],
      clockTolerance: CLOCK_TOLERANCE_S,
      currentDate: new Date(now()),
    };
    let payload: JWTPayload;
    let boundTenant: string | undefined;
    try {
      if (header.alg === "HS256") {
        const secret = header.kid === undefined ? undefined : secrets.get(header.kid);
        if (!secret) throw refuse(`no HS256 secret has the kid ${JSON.stringify(header.kid ?? null)}`);
        boundTenant = secret.tenant;
        ({ payload } = await jwtVerify(token, secret.key, { ...verifyOptions, algorithms: ["HS256"] }));
      } else if (jwks && (header.alg === "ES256" || header.alg === "RS256")) {
        boundTenant = options.jwksTenant;
        try {
          ({ payload } = await jwtVerify(token, jwks, {
            ...verifyOptions,
            algorithms: ["ES256", "RS256"],
            ...(options.jwksIssuer === undefined ? {} : { issuer: options.jwksIssuer }),
          }));
        } catch (error) {
          // Signed by a key the JWKS does not have: another authenticator's (a Firebase ID token).
          if (error instanceof errors.JWKSNoMatchingKey) return null;
          throw error;
        }
      } else {
        // Not one of ours (another authenticator may know it, e.g. a Firebase ID token).
        return null;
      }
    } catch (error) {
      throw error instanceof LockError ? error : refuse(reasonOf(error));
    }
    const principal = principalOf(payload, boundTenant, now());
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.clear();
    verified.set(token, { principal, expMs: (payload.exp ?? 0) * 1000 });
    return principal;
  };
}

function assertSecret(kid: string, secret: string): void {
  if (kid.length === 0) throw new Error("a JWT secret's kid is not empty");
  if (encoder.encode(secret).length < MIN_SECRET_BYTES) {
    throw new Error(`the JWT secret of kid "${kid}" is shorter than ${MIN_SECRET_BYTES} bytes`);
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "it has expired";
  if (error instanceof errors.JWTClaimValidationFailed) return `claim ${error.claim}: ${error.reason}`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return "its signature does not verify";
  if (error instanceof errors.JWKSNoMatchingKey) return "no key of the JWKS matches it";
  if (error instanceof errors.JOSEError) return error.message;
  return "it could not be verified";
}

/** The claims jose does not check: lifetime cap, tenant, scopes, key prefixes. */
function principalOf(payload: JWTPayload, boundTenant: string | undefined, nowMs: number): Principal {
  const { exp = 0, sub, tenant, scope, keys } = payload as JWTPayload & Record<string, unknown>;
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
    id: `sub:${sub}`,
    tenant,
    scopes: [...new Set(scopes)] as Scope[],
    keyPrefixes: keys.map((prefix: string) => prefix.normalize("NFC")),
  };
}
