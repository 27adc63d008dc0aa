import {
  runBackendContract,
  runBoundsContract,
  runHttpContract,
  runSizeContract,
  runWaitingContract,
} from "@holdfast/shared/contract";
import { createMemoryBackend, MEMORY_BOUNDS } from "../src/index.ts";

runBackendContract("memory", () => createMemoryBackend());
runWaitingContract("memory", () => createMemoryBackend());
runHttpContract("memory", () => createMemoryBackend());
runBoundsContract("memory", (bounds) => createMemoryBackend({ bounds }));
runSizeContract("memory", MEMORY_BOUNDS, (bounds) => createMemoryBackend({ bounds }));
