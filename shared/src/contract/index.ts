export { runBackendContract } from "./backend-contract.ts";
export { CONTRACT_BOUNDS, runBoundsContract } from "./bounds-contract.ts";
export { type BackendFixture, keyHandle, type MakeBackend, uniqueKey } from "./helpers.ts";
export { CONTRACT_TOKENS, runHttpContract } from "./http-contract.ts";
export { type ContentionOptions, type ContentionReport, runContention, type Section } from "./ledger.ts";
export { runSizeContract } from "./size-contract.ts";
export { runWaitingContract } from "./waiting-contract.ts";
