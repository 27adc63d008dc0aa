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

/** The answers of those of these markers that landed, by marker id (no read when there are none). */
export async function landedMarkers(
  ctx: FirestoreContext,
  keyId: string,
  ids: readonly string[],
): Promise<Map<string, unknown>> {
  const landed = new Map<string, unknown>();
  if (ids.length === 0) return landed;
  ctx.assertOpen();
  try {
    const snapshots = await ctx.firestore.getAll(...ids.map((id) => ctx.markersOf(keyId).doc(id)));
    for (const snapshot of snapshots) if (snapshot.exists) landed.set(snapshot.id, snapshot.get("result"));
    return landed;
  } catch (error) {
    throw toLockError(error);
  }
}
