/**
 * A compact JWS's signature checked with Web Crypto, for the three algorithms browser
 * tokens use. Written here rather than taken from jose (7 KB of the Worker's gzip) or
 * Hono's JWT utilities (2.3 KB, with signing and JWKS fetching we do not use): Web Crypto
 * does the cryptography, and all this file decides is which algorithm and key apply,
 * from a fixed list, never from the token alone.
 *
 * What makes it safe: the caller picks the key by where the algorithm may come from
 * (HS256 only from our secrets, ES256/RS256 only from the JWKS, so a public key is never
 * an HMAC secret); the key is imported for exactly that algorithm; an ES256 signature is
 * the 64 raw bytes RFC 7518 prescribes; a header naming extensions (`crit`) is refused.
 */

export type JwsAlgorithm = "HS256" | "ES256" | "RS256";

type ImportParameters = Parameters<typeof crypto.subtle.importKey>[2];
type VerifyParameters = Parameters<typeof crypto.subtle.verify>[0];

const PARAMETERS: Record<JwsAlgorithm, { import: ImportParameters; verify: VerifyParameters }> = {
  HS256: { import: { name: "HMAC", hash: "SHA-256" }, verify: "HMAC" },
  ES256: { import: { name: "ECDSA", namedCurve: "P-256" }, verify: { name: "ECDSA", hash: "SHA-256" } },
  RS256: { import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, verify: "RSASSA-PKCS1-v1_5" },
};

/** Why a token's signature was not accepted; the message is shown to the caller. */
export class JwsError extends Error {}

function bytesOf(part: string): Uint8Array<ArrayBuffer> {
  const binary = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/** One part of a compact JWS as the JSON object it encodes, or null if it is not one. */
export function decodeJsonPart(part: string | undefined): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytesOf(part ?? "")),
    );
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

export function importHmacSecret(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", new TextEncoder().encode(secret), PARAMETERS.HS256.import, false, ["verify"]);
}

/** A JWKS entry as a verifying key for `alg`; only its public members are read. */
export function importPublicJwk(jwk: JsonWebKey, alg: "ES256" | "RS256"): Promise<CryptoKey> {
  const { kty, crv, x, y, n, e } = jwk;
  // The members as given (undefined ones included): Web Crypto refuses a key that lacks one.
  const publicOnly = (alg === "ES256" ? { kty, crv, x, y } : { kty, n, e }) as JsonWebKey;
  return crypto.subtle.importKey("jwk", publicOnly, PARAMETERS[alg].import, false, ["verify"]);
}

/**
 * The payload of `token` once its signature verifies under `key` for `alg`, which must
 * also be what its header names. Claims are the caller's to check.
 */
export async function verifyCompactJws(
  token: string,
  alg: JwsAlgorithm,
  key: CryptoKey,
): Promise<Record<string, unknown>> {
  const [headerPart, payloadPart, signaturePart = "", extra] = token.split(".");
  const header = decodeJsonPart(headerPart);
  const payload = decodeJsonPart(payloadPart);
  if (!header || !payload || extra !== undefined) throw new JwsError("it is not a well-formed JWT");
  if (header.alg !== alg) throw new JwsError(`its header does not name ${alg}`);
  if ("crit" in header) throw new JwsError("its header names extensions (crit) this service does not know");
  let signature: Uint8Array<ArrayBuffer>;
  try {
    signature = bytesOf(signaturePart);
  } catch {
    throw new JwsError("it is not a well-formed JWT");
  }
  const signed = new TextEncoder().encode(`${headerPart}.${payloadPart}`);
  const fits = alg !== "ES256" || signature.length === 64;
  if (!fits || !(await crypto.subtle.verify(PARAMETERS[alg].verify, key, signature, signed))) {
    throw new JwsError("its signature does not verify");
  }
  return payload;
}
