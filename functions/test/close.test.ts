/**
 * Closing the backend while operations are under way. The Firestore client, once
 * terminated, drops a new request's rejection (an unhandled rejection) and never settles
 * it; a release still retrying its write when the client ended used to do exactly that.
 * close() refuses new RPCs first, lets the steps under way finish, then ends the client.
 */
import { LockError } from "@holdfast/shared";
import { keyHandle, uniqueKey } from "@holdfast/shared/contract";
import { afterAll, expect, it } from "vitest";
import { firestoreFixture, stopSharedEmulator } from "./fixture.ts";

afterAll(stopSharedEmulator, 30_000);

it("lets the operations under way finish, then refuses new ones with ServiceUnavailable", async () => {
  const { backend } = await firestoreFixture();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    const handles = await Promise.all(Array.from({ length: 16 }, () => keyHandle("t", uniqueKey("close"))));
    // Several operations per key, so that lanes hold steps that have not started yet.
    const underWay = Promise.allSettled(
      handles.flatMap((handle) => [
        backend.acquire(handle.request()),
        backend.acquire(handle.request()),
        backend.lookup(handle.lookupRef),
      ]),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    await backend.close?.();
    const settled = await underWay;
    for (const outcome of settled) {
      if (outcome.status === "rejected") expect(outcome.reason).toMatchObject({ code: "ServiceUnavailable" });
    }
    const handle = handles[0];
    if (!handle) throw new Error("no handle");
    const after = await backend.acquire(handle.request()).catch((error: unknown) => error);
    expect(after).toBeInstanceOf(LockError);
    expect(after).toMatchObject({ code: "ServiceUnavailable", message: expect.stringMatching(/shutting down/) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(unhandled).toEqual([]);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
}, 60_000);
