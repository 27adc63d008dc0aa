import { runBackendContract, runHttpContract } from "@holdfast/shared/contract";
import { createMemoryBackend } from "../src/index.ts";

runBackendContract("memory", () => createMemoryBackend());
runHttpContract("memory", () => createMemoryBackend());
