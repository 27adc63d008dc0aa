/**
 * The store behind `npm start`, chosen by HOLDFAST_BACKEND: the Worker's bindings for it
 * and a line for the banner, so that every store runs locally with one command.
 * - `upstash` uses UPSTASH_REDIS_REST_URL/_TOKEN when both are set; otherwise it starts
 *   the local stand-in for Upstash's REST API in front of the local Redis (REDIS_URL,
 *   default redis://127.0.0.1:6379).
 * - `neon` uses DATABASE_URL when set; otherwise it starts the local stand-in for Neon's
 *   proxy in front of the local Postgres (POSTGRES_URL, default
 *   postgres://postgres@127.0.0.1:5432/test). Either way it applies the migrations first.
 */
// The stand-ins, their drivers and the migrations are imported only by the backend that
// uses them (below): the default, Durable Objects, starts without loading any of them.

export interface LocalStore {
  backend: string;
  bindings: Record<string, string>;
  /** Where the data lives, for the banner. */
  describe: string;
  /** What the store's settings would lose in a crash (durability.ts), for the banner. */
  warnings: string[];
  stop(): Promise<void>;
}

const nothingToStop = async () => {};

export async function prepareStore(env: NodeJS.ProcessEnv, stateDir: string): Promise<LocalStore> {
  const backend = env.HOLDFAST_BACKEND ?? "durable-object";
  if (backend === "durable-object") {
    return { backend, bindings: {}, describe: `state in ${stateDir}`, warnings: [], stop: nothingToStop };
  }
  if (backend === "upstash") return prepareUpstash(env);
  if (backend === "neon") return prepareNeon(env);
  throw new Error(`HOLDFAST_BACKEND=${backend}: npm start knows durable-object, upstash and neon`);
}

async function prepareUpstash(env: NodeJS.ProcessEnv): Promise<LocalStore> {
  const prefix = env.HOLDFAST_REDIS_PREFIX ? { HOLDFAST_REDIS_PREFIX: env.HOLDFAST_REDIS_PREFIX } : {};
  const bindings = { HOLDFAST_BACKEND: "upstash", ...prefix };
  if (env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN) {
    return {
      backend: "upstash",
      bindings: {
        ...bindings,
        UPSTASH_REDIS_REST_URL: env.UPSTASH_REDIS_REST_URL,
        UPSTASH_REDIS_REST_TOKEN: env.UPSTASH_REDIS_REST_TOKEN,
      },
      describe: `Upstash at ${env.UPSTASH_REDIS_REST_URL}`,
      warnings: [],
      stop: nothingToStop,
    };
  }
  const redisUrl = env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const [{ startUpstashStandin }, { newToken }, { redisDurability }] = await Promise.all([
    import("./standins/upstash-rest.ts"),
    import("@holdfast/shared"),
    import("./durability.ts"),
  ]);
  const standin = await startUpstashStandin({ redisUrl, token: newToken() });
  return {
    backend: "upstash",
    bindings: { ...bindings, UPSTASH_REDIS_REST_URL: standin.url, UPSTASH_REDIS_REST_TOKEN: standin.token },
    describe: `local Upstash REST stand-in on ${standin.url} in front of Redis at ${redisUrl.replace(/\/\/[^@/]*@/, "//")}`,
    warnings: await redisDurability(redisUrl),
    stop: () => standin.close(),
  };
}

async function prepareNeon(env: NodeJS.ProcessEnv): Promise<LocalStore> {
  const prefix = env.HOLDFAST_PG_PREFIX;
  const bindings = { HOLDFAST_BACKEND: "neon", ...(prefix ? { HOLDFAST_PG_PREFIX: prefix } : {}) };
  const { setupSchema } = await import("../edge/src/neon/schema/migrate.ts");
  if (env.DATABASE_URL) {
    // HOLDFAST_NEON_LOCAL_PROXY=true: DATABASE_URL names a stand-in already running (benchmarks).
    const localProxy = env.HOLDFAST_NEON_LOCAL_PROXY === "true";
    const applied = await setupSchema({
      connectionString: env.DATABASE_URL,
      localProxy,
      ...(prefix ? { prefix } : {}),
    });
    return {
      backend: "neon",
      bindings: {
        ...bindings,
        DATABASE_URL: env.DATABASE_URL,
        ...(localProxy ? { HOLDFAST_NEON_LOCAL_PROXY: "true" } : {}),
      },
      describe: `Neon at ${hostOf(env.DATABASE_URL)}, ${migrated(applied)}`,
      warnings: [],
      stop: nothingToStop,
    };
  }
  const postgresUrl = env.POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const { startNeonStandin } = await import("./standins/neon-proxy.ts");
  const standin = await startNeonStandin({ postgresUrl });
  try {
    // The driver reaches the stand-in at the connection string's own host and port.
    const target = new URL(postgresUrl);
    const connectionString = `postgres://${target.username || "postgres"}@127.0.0.1:${new URL(standin.httpUrl).port}${target.pathname}`;
    const applied = await setupSchema({ connectionString, localProxy: true, ...(prefix ? { prefix } : {}) });
    const { postgresDurability } = await import("./durability.ts");
    return {
      backend: "neon",
      bindings: { ...bindings, DATABASE_URL: connectionString, HOLDFAST_NEON_LOCAL_PROXY: "true" },
      describe: `local Neon proxy stand-in on ${standin.httpUrl} in front of Postgres at ${hostOf(postgresUrl)}, ${migrated(applied)}`,
      warnings: await postgresDurability(postgresUrl),
      stop: () => standin.close(),
    };
  } catch (error) {
    await standin.close();
    throw error;
  }
}

function migrated(applied: number[]): string {
  return applied.length === 0 ? "schema up to date" : `migrations ${applied.join(", ")} applied`;
}

/** A database URL without its credentials, for the banner. */
function hostOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname}`;
}
