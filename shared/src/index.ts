export { type AuditEvent, type AuditSink, type ClientAddress, consoleAudit } from "./app/audit.ts";
export {
  type Authenticator,
  anyOf,
  type Principal,
  type Scope,
  staticTokens,
  type TokenEntry,
  tokensFromEnv,
} from "./app/auth/auth.ts";
export { type AuthEnv, authFromEnv, hasTokenConfig, jwtOptionsFromEnv } from "./app/auth/auth-env.ts";
export {
  type JwtOptions,
  type JwtSecret,
  jwtTokens,
  looksLikeJwt,
  MAX_BROWSER_TOKEN_LIFETIME_S,
} from "./app/auth/jwt-auth.ts";
export { checkConfig, checkConfigFully, type ServerEnv } from "./app/config/check-config.ts";
export { parseCorsOrigins, parsePositiveInt } from "./app/config/config.ts";
export { type AppOptions, createApp, MAX_BODY_BYTES } from "./app/create-app.ts";
export { errorBody, misconfiguredResponse } from "./app/envelope.ts";
export {
  type Budget,
  type BudgetOf,
  type LeaseTokens,
  leasedRateLimiter,
  memoryRateLimiter,
  type RateLimiter,
  type RateVerdict,
  TokenBucket,
} from "./app/rate-limit/rate-limit.ts";
export { budgetsFromEnv, DEFAULT_BUDGET } from "./app/rate-limit/rate-limit-config.ts";
export type { Backend, QueuedWaitOptions } from "./backend.ts";
export {
  atCapacity,
  type BoundName,
  type BoundsEnv,
  boundsFrom,
  checkBounds,
  type KeyBounds,
  MAX_CALLERS_PER_WAITER,
  MAX_KEY_BOUND,
} from "./bounds.ts";
export * from "./core/index.ts";
export * from "./errors.ts";
export { FENCE_DIGITS, formatFence, MAX_FENCE } from "./fence.ts";
export { formatLockId, keyIdOf, LOCK_ID_PATTERN, MAX_KEY_BYTES, newToken, parseLockId } from "./keys.ts";
export {
  createMemoryBackend,
  MEMORY_BOUNDS,
  type MemoryBackendOptions,
  type MemoryPersistence,
} from "./memory/index.ts";
export type * from "./model.ts";
export * from "./validation.ts";
export { changeHolders, FairQueue, type QueueHost } from "./waiting/fair-queue.ts";
export { leaveOnAbort } from "./waiting/leave-on-abort.ts";
export { acquireWithWait } from "./waiting/poll.ts";
export {
  acquireInStoreQueue,
  channelSignals,
  finalResult,
  type Push,
  type PushChannel,
  type PushedQueue,
  type StoreQueue,
} from "./waiting/pushed-waiter.ts";
