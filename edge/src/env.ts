import type { LockObject } from "./durable-object/lock-object.ts";
import type { NeonWaitRoom } from "./neon/wait-room.ts";
import type { RateLimitObject } from "./rate-limit/rate-limit-object.ts";

/** The Worker's bindings: see wrangler.toml and the README's deploy section. */
export interface Env {
  /** Durable Object namespace: one object per (tenant, key). */
  LOCKS: DurableObjectNamespace<LockObject>;
  /** Durable Object namespace: one object per tenant, its shared request budget. */
  RATE_LIMITS: DurableObjectNamespace<RateLimitObject>;
  /** Durable Object namespace, with `neon`: the waiting rooms that hold the listening connections. */
  NEON_WAIT_ROOM?: DurableObjectNamespace<NeonWaitRoom>;
  /** Each tenant's request budget: JSON `{"<tenant>" or "*": {"perSecond", "burst"} or null}`. */
  HOLDFAST_RATE_LIMITS?: string;
  /** `durable-object` (default), `upstash` or `neon`. */
  HOLDFAST_BACKEND?: string;
  /** Secret, with `neon`: the Neon connection string (migrations applied: `npm run db:migrate`). */
  DATABASE_URL?: string;
  /** With `neon`: prefix of Holdfast's tables and functions (default `holdfast_`). */
  HOLDFAST_PG_PREFIX?: string;
  /** With `neon`, local development only: DATABASE_URL names the local stand-in of Neon's proxy. */
  HOLDFAST_NEON_LOCAL_PROXY?: string;
  /** With `upstash`: the database's REST URL (Upstash console, "REST API"). */
  UPSTASH_REDIS_REST_URL?: string;
  /** Secret, with `upstash`: the database's REST token. */
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** With `upstash`: prefix of every Redis key and channel Holdfast uses (default `holdfast`). */
  HOLDFAST_REDIS_PREFIX?: string;
  /** Secret: one admin token for tenant "default". */
  HOLDFAST_TOKEN?: string;
  /** Secret: JSON `[{"token","tenant","scopes"}]`, instead of HOLDFAST_TOKEN. */
  HOLDFAST_TOKENS?: string;
  /** Secret: browser-token (JWT) HS256 secrets, JSON `{"<kid>": "<secret>"}`. */
  HOLDFAST_JWT_SECRETS?: string;
  /** A JWKS URL with ES256/RS256 keys for browser tokens. */
  HOLDFAST_JWKS_URL?: string;
  /** With HOLDFAST_JWKS_URL: the issuer its tokens must name, and the one tenant they may name. */
  HOLDFAST_JWKS_ISSUER?: string;
  HOLDFAST_JWKS_TENANT?: string;
  /** Comma-separated browser origins allowed by CORS (`*` for any). */
  HOLDFAST_CORS_ORIGINS?: string;
  /** Longest server-side wait per request, in ms (default 25000). */
  HOLDFAST_WAIT_CAP_MS?: string;
  /** Live holders per key (R9; default: the backend's own, see the README's limits). */
  HOLDFAST_MAX_HOLDERS?: string;
  /** Queued waiters per key (R9; default: the backend's own). */
  HOLDFAST_MAX_WAITERS?: string;
}
