import {
  runBackendContract,
  runBoundsContract,
  runHttpContract,
  runSizeContract,
  runWaitingContract,
} from "@holdfast/shared/contract";
import { createMemoryBackend } from "../src/index.ts";

runBackendContract("memory", () => createMemoryBackend());
runWaitingContract("memory", () => createMemoryBackend());
runHttpContract("memory", () => createMemoryBackend());
runBoundsContract("memory", (bounds) => createMemoryBackend({ bounds }));
// Past the defaults: the in-memory core itself at 10,000 holders and 10,000 waiters.
runSizeContract("memory", { holders: 10_000, waiters: 10_000 }, (bounds) => createMemoryBackend({ bounds }));
