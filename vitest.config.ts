import { defineConfig } from "vitest/config";
import { markThisRun } from "./test/support/leak-check-setup.ts";

// Now, in the runner's process: the global setups that run before the root one (edge's
// stand-ins) start processes too, and they must carry the run's marker.
markThisRun();

export default defineConfig({
  test: {
    // Fails the run when a process the tests started is still running at its end.
    globalSetup: ["test/support/leak-check-setup.ts"],
    projects: [
      {
        test: {
          name: "node",
          include: [
            "shared/test/**/*.test.ts",
            "sdk/test/**/*.test.ts",
            "edge/test/node/**/*.test.ts",
            "node/test/**/*.test.ts",
            "functions/test/**/*.test.ts",
            "proof/**/*.test.ts",
            "test/**/*.test.ts",
          ],
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      // The edge suites run inside workerd (Cloudflare's runtime), via the Workers pool.
      "edge/vitest.config.ts",
    ],
  },
});
