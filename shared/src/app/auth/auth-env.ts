/**
 * The authenticator a deployment builds from its variables: static tokens
 * (`HOLDFAST_TOKEN` / `HOLDFAST_TOKENS`) and browser tokens (`HOLDFAST_JWT_SECRETS`,
 * `HOLDFAST_JWKS_URL`). One of the two is required; either may be left out.
 */
import { assertTenantName } from "../../keys.ts";
import { parseJsonVariable } from "../config/config.ts";
import { type Authenticator, anyOf, staticTokens, tokensFromEnv } from "./auth.ts";
import { type JwtOptions, type JwtSecret, jwtTokens } from "./jwt-auth.ts";

export interface AuthEnv {
  HOLDFAST_TOKEN?: string | undefined;
  HOLDFAST_TOKENS?: string | undefined;
  /** JSON `{"<kid>": "<secret>"}` or `{"<kid>": {"secret": "…", "tenant": "…"}}`. */
  HOLDFAST_JWT_SECRETS?: string | undefined;
  /** An https URL of a JWKS with ES256/RS256 public keys. */
  HOLDFAST_JWKS_URL?: string | undefined;
  /** The `iss` that tokens verified against the JWKS must name. */
  HOLDFAST_JWKS_ISSUER?: string | undefined;
  /** The one tenant tokens verified against the JWKS may name. */
  HOLDFAST_JWKS_TENANT?: string | undefined;
}

/** The JWT half of the configuration, or undefined when none is set. Throws naming the variable. */
export function jwtOptionsFromEnv(env: AuthEnv): JwtOptions | undefined {
  const options: JwtOptions = {};
  if (env.HOLDFAST_JWT_SECRETS) options.secrets = parseSecrets(env.HOLDFAST_JWT_SECRETS);
  if (env.HOLDFAST_JWKS_URL) options.jwksUrl = parseJwksUrl(env.HOLDFAST_JWKS_URL);
  if (env.HOLDFAST_JWKS_ISSUER) options.jwksIssuer = env.HOLDFAST_JWKS_ISSUER;
  if (env.HOLDFAST_JWKS_TENANT) {
    try {
      assertTenantName(env.HOLDFAST_JWKS_TENANT);
    } catch (error) {
      throw new Error(`HOLDFAST_JWKS_TENANT: ${error instanceof Error ? error.message : error}`);
    }
    options.jwksTenant = env.HOLDFAST_JWKS_TENANT;
  }
  if ((options.jwksIssuer ?? options.jwksTenant) !== undefined && options.jwksUrl === undefined) {
    throw new Error("HOLDFAST_JWKS_ISSUER and HOLDFAST_JWKS_TENANT go with HOLDFAST_JWKS_URL");
  }
  if (options.secrets === undefined && options.jwksUrl === undefined) return undefined;
  try {
    jwtTokens(options); // checks secret lengths and bound tenants
  } catch (error) {
    throw new Error(`HOLDFAST_JWT_SECRETS: ${error instanceof Error ? error.message : error}`);
  }
  return options;
}

/** Whether any static or browser token variable is set. */
export function hasTokenConfig(env: AuthEnv): boolean {
  return Boolean(env.HOLDFAST_TOKENS || env.HOLDFAST_TOKEN || env.HOLDFAST_JWT_SECRETS || env.HOLDFAST_JWKS_URL);
}

export function authFromEnv(env: AuthEnv): Authenticator {
  const jwt = jwtOptionsFromEnv(env);
  const hasStatic = Boolean(env.HOLDFAST_TOKENS || env.HOLDFAST_TOKEN);
  if (!jwt && !hasStatic) throw new Error("set HOLDFAST_TOKEN, HOLDFAST_TOKENS or HOLDFAST_JWT_SECRETS");
  const authenticators: Authenticator[] = [];
  if (hasStatic) authenticators.push(staticTokens(tokensFromEnv(env)));
  if (jwt) authenticators.push(jwtTokens(jwt));
  return authenticators.length === 1 && authenticators[0] ? authenticators[0] : anyOf(...authenticators);
}

function parseSecrets(raw: string): Record<string, JwtSecret> {
  const parsed = parseJsonVariable("HOLDFAST_JWT_SECRETS", raw);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || Object.keys(parsed).length === 0) {
    throw new Error('HOLDFAST_JWT_SECRETS must be a JSON object {"<kid>": "<secret>"} with at least one kid');
  }
  const secrets: Record<string, JwtSecret> = Object.create(null);
  for (const [kid, value] of Object.entries(parsed)) {
    if (typeof value === "string") secrets[kid] = { secret: value };
    else if (typeof value?.secret === "string" && (value.tenant === undefined || typeof value.tenant === "string")) {
      secrets[kid] =
        value.tenant === undefined ? { secret: value.secret } : { secret: value.secret, tenant: value.tenant };
    } else {
      throw new Error(`HOLDFAST_JWT_SECRETS.${kid}: a secret, or {"secret": "…", "tenant": "…"}`);
    }
  }
  return secrets;
}

function parseJwksUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`HOLDFAST_JWKS_URL: "${raw}" is not a URL`);
  }
  const loopback = url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new Error("HOLDFAST_JWKS_URL: keys are fetched over https (http only from this machine)");
  }
  return url.href;
}
