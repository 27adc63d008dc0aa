import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["shared/test/**/*.test.ts", "sdk/test/**/*.test.ts", "test/**/*.test.ts", "proof/**/*.test.ts"],
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      // The edge suites run inside workerd (Cloudflare's runtime), via the Workers pool.
      "edge/vitest.config.ts",
    ],
  },
});
