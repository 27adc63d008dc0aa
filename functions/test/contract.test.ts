/** The shared contract suites, unchanged, on the Firestore backend: real client, real emulator. */
import {
  runBackendContract,
  runBoundsContract,
  runHttpContract,
  runSizeContract,
  runWaitingContract,
} from "@holdfast/shared/contract";
import { afterAll } from "vitest";
import { firestoreFixture, stopSharedEmulator } from "./fixture.ts";

afterAll(stopSharedEmulator, 30_000);

runBackendContract("firestore", firestoreFixture);
runWaitingContract("firestore", firestoreFixture);
runHttpContract("firestore", firestoreFixture);
runBoundsContract("firestore", (bounds) => firestoreFixture({ bounds }));
// One document takes every write of the key, one after the other: a CI-sized key is small.
runSizeContract("firestore", { holders: 60, waiters: 40 }, (bounds) => firestoreFixture({ bounds }));
