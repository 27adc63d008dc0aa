/** The shared contract suites, unchanged, on the Neon backend: real driver, stand-in, real Postgres. */
import {
  runBackendContract,
  runBoundsContract,
  runHttpContract,
  runSizeContract,
  runWaitingContract,
} from "@holdfast/shared/contract";
import { neonFixture } from "./fixture.ts";

runBackendContract("neon", neonFixture);
runWaitingContract("neon", neonFixture);
runHttpContract("neon", neonFixture);
runBoundsContract("neon", (bounds) => neonFixture({ bounds }));
// Each waiter holds a Postgres connection of its own while it waits (edge/src/neon/wait.ts):
// the queue here stays far below the shared database's max_connections.
runSizeContract("neon", { holders: 500, waiters: 20 }, (bounds) => neonFixture({ bounds }));
