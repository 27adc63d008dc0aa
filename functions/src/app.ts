/** The shared Hono app over the Firestore backend, configured from the function's environment. */
import type { Firestore } from "@google-cloud/firestore";
import {
  checkConfig,
  createApp,
  parseCorsOrigins,
  parsePositiveInt,
  staticTokens,
  tokensFromEnv,
} from "@holdfast/shared";
import { createFirestoreBackend } from "./firestore/backend.ts";

/** The variables the function reads (README, "Firebase Functions"). */
export interface FunctionEnv {
  HOLDFAST_TOKEN?: string | undefined;
  HOLDFAST_TOKENS?: string | undefined;
  HOLDFAST_CORS_ORIGINS?: string | undefined;
  HOLDFAST_WAIT_CAP_MS?: string | undefined;
  /** Collection of the lock documents (default `holdfast_locks`). */
  HOLDFAST_FIRESTORE_COLLECTION?: string | undefined;
  /** Largest tolerated skew of an instance's clock against Firestore's, in ms (default 1000). */
  HOLDFAST_CLOCK_TOLERANCE_MS?: string | undefined;
}

export function createFunctionApp(env: FunctionEnv, firestore: Firestore) {
  const waitCapMs = parsePositiveInt("HOLDFAST_WAIT_CAP_MS", env.HOLDFAST_WAIT_CAP_MS);
  const clockToleranceMs = parsePositiveInt("HOLDFAST_CLOCK_TOLERANCE_MS", env.HOLDFAST_CLOCK_TOLERANCE_MS);
  if (!env.HOLDFAST_TOKENS && !env.HOLDFAST_TOKEN) {
    throw new Error(
      "set the secret HOLDFAST_TOKENS (or HOLDFAST_TOKEN): firebase functions:secrets:set HOLDFAST_TOKENS",
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
    auth: staticTokens(tokensFromEnv(env)),
    corsOrigins: parseCorsOrigins(env.HOLDFAST_CORS_ORIGINS),
    ...(waitCapMs === undefined ? {} : { waitCapMs }),
  });
  return { app, backend };
}
