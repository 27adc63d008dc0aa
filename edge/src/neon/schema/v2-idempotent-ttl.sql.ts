/**
 * Migration 2: the TTL is part of "the same request" (rule 3, docs/design.md). A holder
 * with an idempotency key keeps the TTL it was granted with (`d`), and a retry with the
 * key must name the same TTL, like a retry that joins a queued original (its `ttl`);
 * holders granted before this migration have no `d` and are not checked on it.
 *
 * The statements are migration 1's `grant` and `acquire`, with exactly these edits
 * (each must apply once, or loading this module throws): migration 1 is never changed,
 * since databases that applied it do not run it again.
 */
import { V1_RULES } from "./v1-rules.sql.ts";

function statementOf(name: string): string {
  const found = V1_RULES.split(/^---$/m).filter((statement) =>
    statement.includes(`CREATE OR REPLACE FUNCTION {p}${name}(`),
  );
  if (found.length !== 1 || !found[0]) throw new Error(`migration 1 has no single ${name} function`);
  return found[0];
}

function edited(statement: string, edits: ReadonlyArray<readonly [string, string]>): string {
  let text = statement;
  for (const [from, to] of edits) {
    if (text.split(from).length !== 2) throw new Error(`migration 2: "${from}" is not once in migration 1`);
    text = text.replace(from, to);
  }
  return text;
}

const GRANT = edited(statementOf("grant"), [
  [
    "'e', now_ms + ttl, 'i', idem);",
    "'e', now_ms + ttl, 'i', idem)\n            || CASE WHEN idem IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('d', ttl) END;",
  ],
]);

const ACQUIRE = edited(statementOf("acquire"), [
  [
    "IF h->>'m' = p_mode AND (h->>'p')::integer = p_permits AND (p_mode = 'x'",
    "IF h->>'m' = p_mode AND (h->>'p')::integer = p_permits\n           AND (h->'d' IS NULL OR (h->>'d')::bigint = p_ttl) AND (p_mode = 'x'",
  ],
  [
    "OR (w->>'l')::integer IS DISTINCT FROM p_limit THEN",
    "OR (w->>'l')::integer IS DISTINCT FROM p_limit\n           OR (w->>'ttl')::bigint <> p_ttl THEN",
  ],
]);

export const V2_IDEMPOTENT_TTL = `${GRANT}\n---\n${ACQUIRE}`;
