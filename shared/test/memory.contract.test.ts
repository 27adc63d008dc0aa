import { runBackendContract, runBoundsContract, runHttpContract, runWaitingContract } from "@holdfast/shared/contract";
import { createMemoryBackend } from "../src/index.ts";

runBackendContract("memory", () => createMemoryBackend());
runWaitingContract("memory", () => createMemoryBackend());
runHttpContract("memory", () => createMemoryBackend());
runBoundsContract("memory", (bounds) => createMemoryBackend({ bounds }));
