/**
 * Firestore suites' fixture: the real @google-cloud/firestore client against the real
 * Firestore emulator, one emulator per test file (started here, stopped after), each
 * fixture in a collection of its own so that suites never see each other's locks.
 */
import { newToken } from "@holdfast/shared";
import { firestoreAt } from "../../local/firestore-client.ts";
import { type FirestoreEmulator, OFFLINE_ENV, startFirestoreEmulator } from "../../local/firestore-emulator.ts";
import { createFirestoreBackend, type FirestoreBackendOptions } from "../src/firestore/backend.ts";

Object.assign(process.env, OFFLINE_ENV);

let shared: Promise<FirestoreEmulator> | undefined;

/** The emulator of this test file, started on first use and stopped when the file's tests end. */
export function sharedEmulator(): Promise<FirestoreEmulator> {
  shared ??= startFirestoreEmulator();
  return shared;
}

export { firestoreAt };

export async function firestoreFixture(
  options: Partial<FirestoreBackendOptions> & { emulator?: FirestoreEmulator } = {},
) {
  const emulator = options.emulator ?? (await sharedEmulator());
  const firestore = options.firestore ?? firestoreAt(emulator.host);
  const collection = options.collection ?? `locks_${newToken().replace(/[^A-Za-z0-9]/g, "")}`;
  const backend = createFirestoreBackend({ ...options, firestore, collection });
  return { backend, firestore, collection, emulator, close: () => backend.close?.() ?? firestore.terminate() };
}

export async function stopSharedEmulator(): Promise<void> {
  const emulator = await shared;
  shared = undefined;
  await emulator?.stop();
}
