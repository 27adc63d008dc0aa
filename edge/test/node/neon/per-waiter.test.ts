/**
 * The fallback for a Worker deployed without the NEON_WAIT_ROOM binding: a listening
 * connection per waiter (listen.ts), held to the shared waiting contract, unchanged.
 */
import { runWaitingContract } from "@holdfast/shared/contract";
import { neonFixture } from "./fixture.ts";

runWaitingContract("neon, a connection per waiter", () => neonFixture({ waiting: "per-waiter" }));
