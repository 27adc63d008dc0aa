/** Owns: one read, nothing written; decided at the read's time. */
import { type LockRef, type OwnsResult, ownsOf } from "@holdfast/shared";
import { readAt } from "./atomic.ts";
import type { FirestoreContext } from "./context.ts";
import { readKeyDocument } from "./document.ts";

export async function runOwns(ctx: FirestoreContext, ref: LockRef): Promise<OwnsResult> {
  const { snapshot, nowMs } = await readAt(ctx, ctx.docOf(ref.keyId));
  return ownsOf(readKeyDocument(snapshot).record, ref, nowMs);
}
