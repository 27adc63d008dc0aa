/** The shared contract suites, unchanged, on the Firestore backend: real client, real emulator. */
import { runBackendContract, runBoundsContract, runHttpContract, runWaitingContract } from "@holdfast/shared/contract";
import { afterAll } from "vitest";
import { firestoreFixture, stopSharedEmulator } from "./fixture.ts";

afterAll(stopSharedEmulator, 30_000);

runBackendContract("firestore", firestoreFixture);
runWaitingContract("firestore", firestoreFixture);
runHttpContract("firestore", firestoreFixture);
runBoundsContract("firestore", (bounds) => firestoreFixture({ bounds }));
