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
runSizeContract("neon", { holders: 500, waiters: 300 }, (bounds) => neonFixture({ bounds }));
