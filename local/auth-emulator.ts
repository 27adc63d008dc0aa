/**
 * The Firebase Auth emulator (from the npm package firebase-tools, pure Node), started on
 * free 127.0.0.1 ports for tests: `firebase emulators:start --only auth` with a config of
 * its own in a temp dir, in a process group of its own, stopped as a group. firebase-admin
 * verifies ID tokens against it when FIREBASE_AUTH_EMULATOR_HOST names it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureOutput, DEMO_PROJECT, freePort, OFFLINE_ENV, stopGroup } from "./firestore-emulator.ts";

export interface AuthEmulator {
  /** host:port, the value of FIREBASE_AUTH_EMULATOR_HOST. */
  host: string;
  /** Creates a user with email and password; answers their uid and a fresh ID token. */
  signUp(email: string): Promise<{ uid: string; idToken: string }>;
  stop(): Promise<void>;
}

export async function startAuthEmulator(): Promise<AuthEmulator> {
  const [port, hub, logging] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), "holdfast-auth-emulator-"));
  const local = (p: number) => ({ host: "127.0.0.1", port: p });
  writeFileSync(
    join(dir, "firebase.json"),
    JSON.stringify({
      emulators: { auth: local(port), hub: local(hub), logging: local(logging), ui: { enabled: false } },
    }),
  );
  const cli = createRequire(import.meta.url).resolve("firebase-tools/lib/bin/firebase.js");
  const child = spawn(
    process.execPath,
    [cli, "emulators:start", "--only", "auth", "--project", DEMO_PROJECT, "--config", join(dir, "firebase.json")],
    {
      cwd: dir,
      detached: true,
      // No update check, no usage report, no prompt: nothing leaves the machine.
      env: {
        ...process.env,
        ...OFFLINE_ENV,
        NO_UPDATE_NOTIFIER: "1",
        CI: "true",
        FIREBASE_CLI_DISABLE_UPDATE_CHECK: "true",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const output = captureOutput(child);
  const host = `127.0.0.1:${port}`;
  const stop = async () => {
    await stopGroup(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the Auth emulator exited with ${child.exitCode}:\n${output()}`);
    try {
      const status = (await (await fetch(`http://${host}/`)).json()) as { authEmulator?: { ready?: boolean } };
      if (status.authEmulator?.ready) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the Auth emulator did not start within 90 s:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    host,
    async signUp(email) {
      const response = await fetch(`http://${host}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=emulator`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: "emulator-password", returnSecureToken: true }),
      });
      const body = (await response.json()) as { localId?: string; idToken?: string; error?: unknown };
      if (!body.localId || !body.idToken) throw new Error(`signUp failed: ${JSON.stringify(body)}`);
      return { uid: body.localId, idToken: body.idToken };
    },
    stop,
  };
}
