/** The shared Hono app over the Firestore backend, configured from the function's environment. */
import type { Firestore } from "@google-cloud/firestore";
import {
  type Authenticator,
  anyOf,
  authFromEnv,
  boundsFrom,
  budgetsFromEnv,
  checkConfig,
  createApp,
  hasTokenConfig,
  memoryRateLimiter,
  parseCorsOrigins,
  parsePositiveInt,
  type ServerEnv,
} from "@holdfast/shared";
import type { Auth } from "firebase-admin/auth";
import { firebaseIdTokens } from "./firebase-auth.ts";
import { createFirestoreBackend, FIRESTORE_BOUNDS } from "./firestore/backend.ts";

/**
 * The variables the function reads (README, "Firebase Functions"): those every start mode
 * checks (tokens, JWTs, Firebase Auth tenant, CORS, wait cap, rate limits, clock tolerance),
 * and the collection of the lock documents (default `holdfast_locks`).
 */
export interface FunctionEnv extends ServerEnv {
  HOLDFAST_FIRESTORE_COLLECTION?: string | undefined;
}

/** What the function needs besides its variables: the Firestore client, and Firebase Auth when ID tokens are on. */
export interface FunctionServices {
  firestore: Firestore;
  firebaseAuth?: () => Pick<Auth, "verifyIdToken">;
}

export function createFunctionApp(env: FunctionEnv, { firestore, firebaseAuth }: FunctionServices) {
  const waitCapMs = parsePositiveInt("HOLDFAST_WAIT_CAP_MS", env.HOLDFAST_WAIT_CAP_MS);
  const clockToleranceMs = parsePositiveInt("HOLDFAST_CLOCK_TOLERANCE_MS", env.HOLDFAST_CLOCK_TOLERANCE_MS);
  if (!hasTokenConfig(env) && !env.HOLDFAST_FIREBASE_AUTH_TENANT) {
    throw new Error(
      "set the secret HOLDFAST_TOKENS (or HOLDFAST_TOKEN, HOLDFAST_JWT_SECRETS, or HOLDFAST_FIREBASE_AUTH_TENANT for Firebase ID tokens): firebase functions:secrets:set HOLDFAST_TOKENS",
    );
  }
  checkConfig(env);
  const authenticators: Authenticator[] = hasTokenConfig(env) ? [authFromEnv(env)] : [];
  if (env.HOLDFAST_FIREBASE_AUTH_TENANT) {
    if (!firebaseAuth) throw new Error("HOLDFAST_FIREBASE_AUTH_TENANT is set but this build has no Firebase Auth");
    authenticators.push(firebaseIdTokens({ auth: firebaseAuth(), tenant: env.HOLDFAST_FIREBASE_AUTH_TENANT }));
  }
  const backend = createFirestoreBackend({
    firestore,
    ...(env.HOLDFAST_FIRESTORE_COLLECTION ? { collection: env.HOLDFAST_FIRESTORE_COLLECTION } : {}),
    ...(clockToleranceMs === undefined ? {} : { clockToleranceMs }),
    bounds: boundsFrom(env, FIRESTORE_BOUNDS),
  });
  const app = createApp({
    backend,
    auth: anyOf(...authenticators),
    // Per instance: Firestore sustains about one write per second per document, too few
    // for a shared counter, so a tenant's budget is per function instance (README).
    rateLimit: memoryRateLimiter({ budgetOf: budgetsFromEnv(env.HOLDFAST_RATE_LIMITS) }),
    corsOrigins: parseCorsOrigins(env.HOLDFAST_CORS_ORIGINS),
    ...(waitCapMs === undefined ? {} : { waitCapMs }),
  });
  return { app, backend };
}
