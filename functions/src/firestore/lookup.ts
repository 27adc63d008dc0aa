/** Lookup: one read, nothing written; another tenant's key reads as never locked. */
import { type KeyRef, type LookupResult, lookupOf } from "@holdfast/shared";
import { readAt } from "./atomic.ts";
import type { FirestoreContext } from "./context.ts";
import { readKeyDocument } from "./document.ts";

export async function runLookup(ctx: FirestoreContext, ref: KeyRef): Promise<LookupResult> {
  const { snapshot, nowMs } = await readAt(ctx, ctx.docOf(ref.keyId));
  const { record } = readKeyDocument(snapshot);
  return lookupOf(record?.tenant === ref.tenant && record.key === ref.key ? record : null, nowMs);
}
