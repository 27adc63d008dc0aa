/**
 * A Firestore client for a local emulator at `host` (host:port), offline: the owner's
 * token, which the emulator accepts for every document, and no TLS.
 */
import { Firestore } from "@google-cloud/firestore";
import { DEMO_PROJECT, OFFLINE_ENV } from "./firestore-emulator.ts";

export function firestoreAt(host: string): Firestore {
  Object.assign(process.env, OFFLINE_ENV);
  return new Firestore({ projectId: DEMO_PROJECT, host, ssl: false, customHeaders: { Authorization: "Bearer owner" } });
}
