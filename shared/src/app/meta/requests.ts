/**
 * The request schemas in classic zod with OpenAPI metadata, for the generated OpenAPI
 * document only. Servers validate with the zod/mini schemas of ../../validation.ts, which
 * must accept and reject exactly what these do, with the same messages
 * (test/worker-bundle.test.ts compares them). Nothing that runs in a server imports this.
 */
import { z } from "@hono/zod-openapi";
import { isWellFormedString, LOCK_ID_PATTERN, MAX_KEY_BYTES, utf8Length } from "../../keys.ts";
import { DEFAULT_TTL_MS, MAX_PERMITS, MAX_PRIORITY, MAX_TTL_MS, MAX_WAIT_MS, MIN_TTL_MS } from "../../validation.ts";

export const KeySchema = z
  .string()
  .refine(isWellFormedString, "key must be valid Unicode (no lone surrogates)")
  .refine((key) => {
    const bytes = utf8Length(key.normalize("NFC"));
    return bytes >= 1 && bytes <= MAX_KEY_BYTES;
  }, `key must be 1..${MAX_KEY_BYTES} bytes of UTF-8 after NFC normalisation`)
  .openapi({ example: "payment:42", description: "Any string; NFC-normalised, 1..512 bytes of UTF-8." });

const TtlSchema = z
  .number()
  .int()
  .min(MIN_TTL_MS)
  .max(MAX_TTL_MS)
  .openapi({ description: `Lease length in ms (${MIN_TTL_MS}..${MAX_TTL_MS}).`, example: 30_000 });

const CountSchema = z.number().int().min(1).max(MAX_PERMITS);

export const LockIdSchema = z.string().regex(LOCK_ID_PATTERN, "malformed lockId").openapi({
  description: "The capability returned by acquire.",
  example: "q1Zb0m6uV7n3bJz0Qm1H1g.Kx3p9QvZbYc2Lr8TnWm4Aa",
});

export const IdempotencyKeySchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, "idempotencyKey must be 1..128 printable ASCII characters")
  .openapi({ description: "Retrying with the same key returns the same grant." });

export const AcquireBody = z
  .strictObject({
    key: KeySchema,
    ttlMs: TtlSchema.default(DEFAULT_TTL_MS),
    mode: z.enum(["exclusive", "shared"]).default("exclusive"),
    permits: CountSchema.optional().openapi({ description: "Shared mode: permits taken (default 1)." }),
    limit: CountSchema.optional().openapi({
      description: "Shared mode: the semaphore limit; omit for an unlimited read lock.",
    }),
    waitMs: z
      .number()
      .int()
      .min(0)
      .max(MAX_WAIT_MS)
      .default(0)
      .openapi({ description: "0 tries once; otherwise the server waits (up to its cap) for a grant." }),
    idempotencyKey: IdempotencyKeySchema.optional(),
    priority: z
      .number()
      .int()
      .min(-MAX_PRIORITY)
      .max(MAX_PRIORITY)
      .optional()
      .openapi({ description: "Waiting order: higher first, FIFO within a priority (default 0)." }),
  })
  .superRefine((body, ctx) => {
    if (body.mode === "exclusive" && (body.permits !== undefined || body.limit !== undefined)) {
      ctx.addIssue({ code: "custom", message: "permits and limit apply to shared mode only" });
    }
    if (body.limit !== undefined && (body.permits ?? 1) > body.limit) {
      ctx.addIssue({ code: "custom", message: "permits must not exceed limit" });
    }
  })
  .openapi("AcquireRequest");

export const LockIdBody = z.strictObject({ lockId: LockIdSchema }).openapi("LockIdRequest");

export const ExtendBody = z
  .strictObject({ lockId: LockIdSchema, ttlMs: TtlSchema.default(DEFAULT_TTL_MS) })
  .openapi("ExtendRequest");

export const LookupBody = z.strictObject({ key: KeySchema }).openapi("LookupRequest");
