/**
 * Request validation. Everything here runs before the store is touched: a bad request
 * never reaches it.
 *
 * Written against `zod/mini` rather than classic zod: mini's free functions tree-shake,
 * so the Worker bundle carries only the checks used here (classic zod's method-chaining
 * API drags in every schema type, and the namespace that @hono/zod-openapi re-exports
 * drags in every locale). Each schema mirrors, check for check and in the same order,
 * the classic one the OpenAPI document is generated from (app/meta/requests.ts):
 * classic's `.int()` is `.check(int())`, `.min(n)` on numbers is `.check(gte(n))`, and so
 * on, so both accept the same bodies and report the same issues (test/worker-bundle.test.ts
 * checks that they do).
 */
import * as z from "zod/mini";
import { isWellFormedString, LOCK_ID_PATTERN, MAX_KEY_BYTES, utf8Length } from "./keys.ts";
import { english } from "./zod-english.ts";

// zod/mini, unlike classic zod, installs no locale by itself (its issues would read
// "Invalid input"); the error envelopes quote zod's English messages, worded for these
// schemas' issues by zod-english.ts rather than by zod's whole locale file.
z.config(english());

export const MIN_TTL_MS = 100;
export const MAX_TTL_MS = 86_400_000; // 24 h
export const DEFAULT_TTL_MS = 30_000;
export const MAX_PERMITS = 1_000_000;
export const MAX_WAIT_MS = 3_600_000;
export const MAX_PRIORITY = 1_000_000;

/** An integer in [min, max], as classic `z.number().int().min(min).max(max)`. */
function intIn(min: number, max: number) {
  return z.number().check(z.int(), z.gte(min), z.lte(max));
}

export const KeySchema = z.string().check(
  z.refine(isWellFormedString, "key must be valid Unicode (no lone surrogates)"),
  z.refine((key) => {
    const bytes = utf8Length(key.normalize("NFC"));
    return bytes >= 1 && bytes <= MAX_KEY_BYTES;
  }, `key must be 1..${MAX_KEY_BYTES} bytes of UTF-8 after NFC normalisation`),
);

const TtlSchema = intIn(MIN_TTL_MS, MAX_TTL_MS);

const CountSchema = intIn(1, MAX_PERMITS);

export const LockIdSchema = z.string().check(z.regex(LOCK_ID_PATTERN, "malformed lockId"));

export const IdempotencyKeySchema = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(128),
    z.regex(/^[\x21-\x7e]+$/, "idempotencyKey must be 1..128 printable ASCII characters"),
  );

/**
 * When the cross-field checks run: as zod 4.4 ran them, only after no aborting issue.
 * Since 4.6 an unknown key no longer aborts, so a body with a stray field would also hear
 * about permits and limit; the envelopes keep their pre-4.6 wording.
 */
const crossFieldChecksRun: z.core.$ZodSuperRefineParams = {
  when: (payload) => payload.issues.every((issue) => issue.continue === true && issue.code !== "unrecognized_keys"),
};

export const AcquireBody = z
  .strictObject({
    key: KeySchema,
    ttlMs: z._default(TtlSchema, DEFAULT_TTL_MS),
    mode: z._default(z.enum(["exclusive", "shared"]), "exclusive"),
    permits: z.optional(CountSchema),
    limit: z.optional(CountSchema),
    waitMs: z._default(intIn(0, MAX_WAIT_MS), 0),
    idempotencyKey: z.optional(IdempotencyKeySchema),
    priority: z.optional(intIn(-MAX_PRIORITY, MAX_PRIORITY)),
  })
  .check(
    z.superRefine((body, ctx) => {
      if (body.mode === "exclusive" && (body.permits !== undefined || body.limit !== undefined)) {
        ctx.addIssue({ code: "custom", message: "permits and limit apply to shared mode only" });
      }
      if (body.limit !== undefined && (body.permits ?? 1) > body.limit) {
        ctx.addIssue({ code: "custom", message: "permits must not exceed limit" });
      }
    }, crossFieldChecksRun),
  );

export const LockIdBody = z.strictObject({ lockId: LockIdSchema });

export const ExtendBody = z.strictObject({ lockId: LockIdSchema, ttlMs: z._default(TtlSchema, DEFAULT_TTL_MS) });

export const LookupBody = z.strictObject({ key: KeySchema });

export type AcquireInput = z.infer<typeof AcquireBody>;
