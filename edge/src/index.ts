export { createDurableObjectBackend } from "./durable-object/backend.ts";
export { LockObject } from "./durable-object/lock-object.ts";
export type { Env } from "./env.ts";
export { createNeonBackend, type NeonBackendOptions } from "./neon/backend.ts";
export { MIGRATIONS, setupSchema } from "./neon/schema/migrate.ts";
export { createUpstashBackend, type UpstashBackendOptions } from "./upstash/backend.ts";
