/**
 * The configuration every start mode checks before it serves (npm start, start:node,
 * start:firebase; the Worker and the function on their first request): a malformed
 * variable is an Error whose message names it, never a server that answers 503 to
 * everything or a raw SyntaxError.
 */
import { type BoundsEnv, boundsFrom } from "../../bounds.ts";
import { assertTenantName } from "../../keys.ts";
import { repeatedToken, tokensFromEnv } from "../auth/auth.ts";
import { type AuthEnv, authFromEnv, hasTokenConfig } from "../auth/auth-env.ts";
import { budgetsFromEnv } from "../rate-limit/rate-limit-config.ts";
import { parseCorsOrigins, parsePositiveInt } from "./config.ts";

export interface ServerEnv extends AuthEnv, BoundsEnv {
  HOLDFAST_RATE_LIMITS?: string | undefined;
  HOLDFAST_CORS_ORIGINS?: string | undefined;
  HOLDFAST_WAIT_CAP_MS?: string | undefined;
  HOLDFAST_CLOCK_TOLERANCE_MS?: string | undefined;
  /** Firebase: the tenant of users who call with their Firebase ID token. */
  HOLDFAST_FIREBASE_AUTH_TENANT?: string | undefined;
}

export function checkConfig(env: ServerEnv): void {
  // Firebase ID tokens alone are enough on the Functions deployment.
  if (hasTokenConfig(env) || !env.HOLDFAST_FIREBASE_AUTH_TENANT) authFromEnv(env);
  if (env.HOLDFAST_FIREBASE_AUTH_TENANT !== undefined) {
    try {
      assertTenantName(env.HOLDFAST_FIREBASE_AUTH_TENANT);
    } catch (error) {
      throw new Error(`HOLDFAST_FIREBASE_AUTH_TENANT: ${error instanceof Error ? error.message : error}`);
    }
  }
  budgetsFromEnv(env.HOLDFAST_RATE_LIMITS);
  for (const origin of parseCorsOrigins(env.HOLDFAST_CORS_ORIGINS)) {
    if (origin !== "*" && !isOrigin(origin)) {
      throw new Error(`HOLDFAST_CORS_ORIGINS: "${origin}" is not an origin (scheme://host[:port]) or *`);
    }
  }
  parsePositiveInt("HOLDFAST_WAIT_CAP_MS", env.HOLDFAST_WAIT_CAP_MS);
  parsePositiveInt("HOLDFAST_CLOCK_TOLERANCE_MS", env.HOLDFAST_CLOCK_TOLERANCE_MS);
  boundsFrom(env, { holders: 1, waiters: 1 });
}

/** checkConfig, and what takes a digest to see: a token listed plainly and as its sha256. Start modes await it. */
export async function checkConfigFully(env: ServerEnv): Promise<void> {
  checkConfig(env);
  if (!env.HOLDFAST_TOKENS) return;
  const repeated = await repeatedToken(tokensFromEnv(env));
  if (repeated) {
    throw new Error(
      `HOLDFAST_TOKENS[${repeated[1]}] is the same token as HOLDFAST_TOKENS[${repeated[0]}] (one of them given as its sha256)`,
    );
  }
}

function isOrigin(value: string): boolean {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}
