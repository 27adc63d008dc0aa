/**
 * Firebase Auth on the Functions deployment (issue 11, item 2): ID tokens of users signed
 * up in the real Auth emulator (firebase-tools), verified by firebase-admin, reach the
 * function's app; a user locks only keys under `user:{uid}:` in the configured tenant,
 * a tampered token is refused, and static tokens still work beside them. Offline.
 */
import { initializeApp } from "firebase-admin/app";
import { getAuth } from "firebase-admin/auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthEmulator, startAuthEmulator } from "../../local/auth-emulator.ts";
import { DEMO_PROJECT } from "../../local/firestore-emulator.ts";
import { createFunctionApp } from "../src/app.ts";
import { firestoreAt, sharedEmulator, stopSharedEmulator } from "./fixture.ts";

let auth: AuthEmulator;
let app: ReturnType<typeof createFunctionApp>["app"];
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const [authEmulator, firestoreEmulator] = await Promise.all([startAuthEmulator(), sharedEmulator()]);
  auth = authEmulator;
  process.env.FIREBASE_AUTH_EMULATOR_HOST = auth.host;
  const firebase = initializeApp({ projectId: DEMO_PROJECT }, `auth-test-${Date.now()}`);
  const built = createFunctionApp(
    {
      HOLDFAST_FIREBASE_AUTH_TENANT: "app-users",
      HOLDFAST_TOKENS: JSON.stringify([{ token: "server", tenant: "app-users", scopes: ["admin"] }]),
      HOLDFAST_FIRESTORE_COLLECTION: `firebase_auth_${Date.now()}`,
    },
    { firestore: firestoreAt(firestoreEmulator.host), firebaseAuth: () => getAuth(firebase) },
  );
  app = built.app;
  close = () => built.backend.close?.() ?? Promise.resolve();
}, 120_000);

afterAll(async () => {
  await close?.();
  await auth?.stop();
  await stopSharedEmulator();
  delete process.env.FIREBASE_AUTH_EMULATOR_HOST;
}, 60_000);

const post = (token: string, path: string, body: object) =>
  app.request(path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("Firebase ID tokens", () => {
  it("let a signed-in user lock their own keys, and only those", async () => {
    const alice = await auth.signUp(`alice-${Date.now()}@example.com`);
    const grant = await post(alice.idToken, "/v1/locks/acquire", { key: `user:${alice.uid}:checkout` });
    expect(grant.status).toBe(200);
    const { lockId } = (await grant.json()) as { lockId: string };
    expect((await post(alice.idToken, "/v1/locks/acquire", { key: "user:someone-else:checkout" })).status).toBe(403);
    expect((await post(alice.idToken, "/v1/locks/lookup", { key: "global:config" })).status).toBe(403);
    // The static token of the same tenant sees Alice's lock under her key.
    const lookup = await post("server", "/v1/locks/lookup", { key: `user:${alice.uid}:checkout` });
    expect(await lookup.json()).toMatchObject({ locked: true });
    expect((await post(alice.idToken, "/v1/locks/release", { lockId })).status).toBe(200);
  });

  it("scope idempotency keys to the user", async () => {
    const bob = await auth.signUp(`bob-${Date.now()}@example.com`);
    const carol = await auth.signUp(`carol-${Date.now()}@example.com`);
    const request = { key: `user:${bob.uid}:job`, idempotencyKey: "same" };
    const first = (await (await post(bob.idToken, "/v1/locks/acquire", request)).json()) as { lockId: string };
    expect((await post(carol.idToken, "/v1/locks/acquire", request)).status).toBe(403);
    expect(await (await post(bob.idToken, "/v1/locks/acquire", request)).json()).toMatchObject({
      lockId: first.lockId,
    });
  });

  // The emulator's tokens are unsigned, and firebase-admin checks no signature while
  // FIREBASE_AUTH_EMULATOR_HOST is set: signatures (Google's keys) are checked in
  // production only. What it checks here too: the project, and that the user exists.
  it("refuse with 401 a token of another Firebase project, and one naming a user that does not exist", async () => {
    const dave = await auth.signUp(`dave-${Date.now()}@example.com`);
    const [header, payload, signature] = dave.idToken.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    const forge = (changes: object) =>
      `${header}.${Buffer.from(JSON.stringify({ ...claims, ...changes })).toString("base64url")}.${signature}`;
    const otherProject = forge({ aud: "demo-other", iss: "https://securetoken.google.com/demo-other" });
    const ghost = forge({ user_id: "ghost", sub: "ghost" });
    for (const token of [otherProject, ghost]) {
      const response = await post(token, "/v1/locks/acquire", { key: "user:ghost:x" });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { code: "AuthFailed" } });
    }
  });
});
