/** The shared contract suites, unchanged, on the Upstash backend: real client, stand-in, real Redis. */
import {
  runBackendContract,
  runBoundsContract,
  runHttpContract,
  runSizeContract,
  runWaitingContract,
} from "@holdfast/shared/contract";
import { upstashFixture } from "./fixture.ts";

runBackendContract("upstash", upstashFixture);
runWaitingContract("upstash", upstashFixture);
runHttpContract("upstash", upstashFixture);
runBoundsContract("upstash", (bounds) => upstashFixture({ bounds }));
runSizeContract("upstash", { holders: 1_000, waiters: 500 }, (bounds) => upstashFixture({ bounds }));
