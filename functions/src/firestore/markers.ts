/**
 * Write markers: every write of a step also creates `<key document>/m/<id>`, a fresh id
 * with the step's answer, in the same batch. The client re-sends a commit whose answer was
 * lost (UNAVAILABLE); the re-sent commit then fails its precondition, and the step, before
 * deciding again, looks for the markers of its own earlier attempts: one that exists
 * means that attempt landed, and the step answers what it wrote. A marker is its own
 * document, so no number of later writes pushes it out (the key document used to keep
 * only its last 16, and a release whose answer was lost behind more answered "not held").
 * `expireAt` is for a Firestore TTL policy on the `m` collection group; nothing reads a
 * marker after its step has answered.
 */
import { Timestamp, type WriteBatch } from "@google-cloud/firestore";
import type { FirestoreContext } from "./context.ts";
import { plain } from "./document.ts";
import { toLockError } from "./errors.ts";

/** Far longer than a client retries one commit. */
const MARKER_KEEP_MS = 10 * 60_000;

export function addMarker(
  ctx: FirestoreContext,
  batch: WriteBatch,
  keyId: string,
  marker: { id: string; result: unknown; atMs: number },
) {
  batch.create(ctx.markersOf(keyId).doc(marker.id), {
    result: plain(marker.result ?? null),
    atMs: marker.atMs,
    expireAt: Timestamp.fromMillis(marker.atMs + MARKER_KEEP_MS),
  });
}

/** The answer of whichever of these markers landed, if one did. */
export async function landedMarker(
  ctx: FirestoreContext,
  keyId: string,
  ids: Iterable<string>,
): Promise<{ result: unknown } | undefined> {
  const refs = [...ids].map((id) => ctx.markersOf(keyId).doc(id));
  if (refs.length === 0) return undefined;
  ctx.assertOpen();
  try {
    const found = (await ctx.firestore.getAll(...refs)).find((snapshot) => snapshot.exists);
    return found ? { result: found.get("result") } : undefined;
  } catch (error) {
    throw toLockError(error);
  }
}
