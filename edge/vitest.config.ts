import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { CONTRACT_TOKENS } from "../shared/src/contract/http-contract.ts";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "../wrangler.toml" },
      miniflare: {
        bindings: {
          HOLDFAST_TOKENS: JSON.stringify([
            ...CONTRACT_TOKENS,
            { token: "token-limited", tenant: "limited", scopes: ["read"] },
          ]),
          // rate-limit.test.ts: one tenant with a small budget; the suites' tenants unlimited.
          HOLDFAST_RATE_LIMITS: JSON.stringify({ limited: { perSecond: 1, burst: 5 }, "*": null }),
          // Browser tokens in worker.test.ts (the secret is a test value).
          HOLDFAST_JWT_SECRETS: JSON.stringify({ test: "worker-test-secret-of-32-bytes-or-more" }),
        },
      },
    }),
  ],
  test: {
    name: "workerd",
    include: ["test/workerd/**/*.test.ts"],
    globalSetup: ["test/stores-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
