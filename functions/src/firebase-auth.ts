/**
 * Firebase Auth on the Functions deployment (SPEC §7): a signed-in user of the Firebase
 * app calls Holdfast with their Firebase ID token, verified by firebase-admin (signature
 * against Google's keys, issuer and audience of this project, expiry). The user locks
 * only their own keys: tenant HOLDFAST_FIREBASE_AUTH_TENANT, key prefix `user:{uid}:`,
 * scopes lock and read; idempotency keys are theirs alone.
 *
 * Revocation is not checked on every request (that is one Auth call per token): a
 * revoked or disabled user's token keeps working until it expires (at most one hour).
 */
import { type Authenticator, LockError, type Principal } from "@holdfast/shared";
import type { Auth } from "firebase-admin/auth";

const ISSUER_PREFIX = "https://securetoken.google.com/";
/** A JWT; the Auth emulator's tokens are unsigned (empty signature), which only the emulator's admin accepts. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;
const VERIFIED_CACHE_SIZE = 1024;

export interface FirebaseAuthOptions {
  auth: Pick<Auth, "verifyIdToken">;
  /** The tenant every Firebase user's keys live in. */
  tenant: string;
  now?: () => number;
}

export function firebaseIdTokens({ auth, tenant, now = Date.now }: FirebaseAuthOptions): Authenticator {
  const verified = new Map<string, { principal: Principal; expMs: number }>();
  return async (token) => {
    if (!JWT_SHAPE.test(token) || !issuedByFirebase(token)) return null;
    const known = verified.get(token);
    if (known && known.expMs > now()) return known.principal;
    let decoded: Awaited<ReturnType<Auth["verifyIdToken"]>>;
    try {
      decoded = await auth.verifyIdToken(token);
    } catch (error) {
      throw refusal(error);
    }
    // Keys are NFC-normalised, so the prefix is too; a ':' in a (custom-token) uid would let
    // uid "42" reach the keys of uid "42:x".
    const uid = decoded.uid.normalize("NFC");
    if (uid.includes(":")) throw new LockError("AuthFailed", "Firebase ID token refused: its uid contains ':'");
    const principal: Principal = {
      id: `firebase:${uid}`,
      tenant,
      scopes: ["lock", "read"],
      keyPrefixes: [`user:${uid}:`],
    };
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.clear();
    verified.set(token, { principal, expMs: decoded.exp * 1000 });
    return principal;
  };
}

/** Only tokens that say they come from Firebase Auth are worth a verification. */
function issuedByFirebase(token: string): boolean {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
    return typeof payload?.iss === "string" && payload.iss.startsWith(ISSUER_PREFIX);
  } catch {
    return false;
  }
}

function refusal(error: unknown): LockError {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  // Google's keys could not be fetched: not the caller's fault.
  if (code === "app/network-error" || code === "auth/internal-error") {
    return new LockError("ServiceUnavailable", `Firebase Auth is unavailable; retry (${message})`, { cause: error });
  }
  const why = code === "auth/id-token-expired" ? "it has expired" : (message ?? "it could not be verified");
  return new LockError("AuthFailed", `Firebase ID token refused: ${why}`, { cause: error });
}
