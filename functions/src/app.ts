/** The shared Hono app over the Firestore backend, configured from the function's environment. */
import type { Firestore } from "@google-cloud/firestore";
import {
  authFromEnv,
  budgetsFromEnv,
  checkConfig,
  createApp,
  memoryRateLimiter,
  parseCorsOrigins,
  parsePositiveInt,
} from "@holdfast/shared";
import { createFirestoreBackend } from "./firestore/backend.ts";

/** The variables the function reads (README, "Firebase Functions"). */
export interface FunctionEnv {
  HOLDFAST_TOKEN?: string | undefined;
  HOLDFAST_TOKENS?: string | undefined;
  HOLDFAST_JWT_SECRETS?: string | undefined;
  HOLDFAST_JWKS_URL?: string | undefined;
  HOLDFAST_CORS_ORIGINS?: string | undefined;
  HOLDFAST_WAIT_CAP_MS?: string | undefined;
  /** Each tenant's request budget, per function instance (README, "Configuration"). */
  HOLDFAST_RATE_LIMITS?: string | undefined;
  /** Collection of the lock documents (default `holdfast_locks`). */
  HOLDFAST_FIRESTORE_COLLECTION?: string | undefined;
  /** Largest tolerated skew of an instance's clock against Firestore's, in ms (default 1000). */
  HOLDFAST_CLOCK_TOLERANCE_MS?: string | undefined;
}

export function createFunctionApp(env: FunctionEnv, firestore: Firestore) {
  const waitCapMs = parsePositiveInt("HOLDFAST_WAIT_CAP_MS", env.HOLDFAST_WAIT_CAP_MS);
  const clockToleranceMs = parsePositiveInt("HOLDFAST_CLOCK_TOLERANCE_MS", env.HOLDFAST_CLOCK_TOLERANCE_MS);
  if (!env.HOLDFAST_TOKENS && !env.HOLDFAST_TOKEN && !env.HOLDFAST_JWT_SECRETS && !env.HOLDFAST_JWKS_URL) {
    throw new Error(
      "set the secret HOLDFAST_TOKENS (or HOLDFAST_TOKEN, HOLDFAST_JWT_SECRETS): firebase functions:secrets:set HOLDFAST_TOKENS",
    );
  }
  checkConfig(env);
  const backend = createFirestoreBackend({
    firestore,
    ...(env.HOLDFAST_FIRESTORE_COLLECTION ? { collection: env.HOLDFAST_FIRESTORE_COLLECTION } : {}),
    ...(clockToleranceMs === undefined ? {} : { clockToleranceMs }),
  });
  const app = createApp({
    backend,
    auth: authFromEnv(env),
    // Per instance: Firestore sustains about one write per second per document, too few
    // for a shared counter, so a tenant's budget is per function instance (README).
    rateLimit: memoryRateLimiter({ budgetOf: budgetsFromEnv(env.HOLDFAST_RATE_LIMITS) }),
    corsOrigins: parseCorsOrigins(env.HOLDFAST_CORS_ORIGINS),
    ...(waitCapMs === undefined ? {} : { waitCapMs }),
  });
  return { app, backend };
}
