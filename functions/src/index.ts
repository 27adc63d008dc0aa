/**
 * The Firebase Functions entry: one HTTPS function, `holdfast`, serving the whole v1 API
 * over Firestore. Tokens come from the secret HOLDFAST_TOKENS (or HOLDFAST_TOKEN); the
 * app does its own auth and CORS, so the function is public and Functions' CORS is off.
 */
import { Firestore } from "@google-cloud/firestore";
import { misconfiguredResponse } from "@holdfast/shared";
import { getApps, initializeApp } from "firebase-admin/app";
import { getAuth } from "firebase-admin/auth";
import { defineSecret, defineString } from "firebase-functions/params";
import { onRequest } from "firebase-functions/v2/https";
import { createFunctionApp } from "./app.ts";
import { expressHandler, type FetchHandler } from "./web-adapter.ts";

const tokens = defineSecret("HOLDFAST_TOKENS");
const region = defineString("HOLDFAST_REGION", { default: "us-central1" });

let handle: FetchHandler | undefined;

/** Built on the first request (secrets are readable only at run time); a misconfiguration answers a clear 503. */
function build(): FetchHandler {
  try {
    const env = { ...process.env, HOLDFAST_TOKENS: process.env.HOLDFAST_TOKENS ? tokens.value() : undefined };
    const { app } = createFunctionApp(env, {
      firestore: new Firestore(),
      // Only when Firebase ID tokens are on: the project comes from the function's environment.
      firebaseAuth: () => getAuth(getApps()[0] ?? initializeApp()),
    });
    return (request) => app.fetch(request);
  } catch (error) {
    console.error(`holdfast: misconfigured: ${error instanceof Error ? error.message : String(error)}`);
    return () => misconfiguredResponse(error);
  }
}

export const holdfast = onRequest(
  // A waiting acquire is held up to HOLDFAST_WAIT_CAP_MS (25 s): the function's timeout is above it.
  { region, secrets: [tokens], invoker: "public", timeoutSeconds: 60, concurrency: 80 },
  expressHandler((request) => {
    handle ??= build();
    return handle(request);
  }),
);
