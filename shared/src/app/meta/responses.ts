/** Response shapes, in classic zod, for the generated OpenAPI document only (see ./openapi-spec.ts). */
import { z } from "@hono/zod-openapi";
import { HTTP_STATUS, type ServerErrorCode } from "../../errors.ts";

const ServerTime = z.number().int().openapi({ description: "The store's clock, ms since the epoch." });
const Fence = z
  .string()
  .regex(/^\d{15}$/)
  .openapi({ example: "000000000000042" });

export const ErrorEnvelope = z
  .object({
    ok: z.literal(false),
    error: z.object({
      // The codes a server answers with: exactly those that have an HTTP status.
      code: z.enum(Object.keys(HTTP_STATUS) as [ServerErrorCode, ...ServerErrorCode[]]),
      message: z.string(),
      limit: z.enum(["holders", "waiters", "callers", "document"]).optional().openapi({
        description: "CapacityExceeded: the key's bound that was reached (document: Firestore's 1 MiB per key).",
      }),
    }),
    serverTimeMs: z.number().int().openapi({ description: "This server's clock, ms since the epoch." }),
  })
  .openapi("Error");

export const Granted = z
  .object({
    ok: z.literal(true),
    lockId: z.string(),
    fence: Fence,
    expiresAtMs: z.number().int(),
    serverTimeMs: ServerTime,
  })
  .openapi("Granted");

export const Locked = z
  .object({ ok: z.literal(false), reason: z.literal("locked"), serverTimeMs: ServerTime })
  .openapi("Locked");

export const Released = z.object({ ok: z.literal(true), serverTimeMs: ServerTime }).openapi("Released");
export const NotHeld = z.object({ ok: z.literal(false), serverTimeMs: ServerTime }).openapi("NotHeld");
export const Extended = z
  .object({ ok: z.literal(true), expiresAtMs: z.number().int(), serverTimeMs: ServerTime })
  .openapi("Extended");

const HolderSchema = z
  .object({
    mode: z.enum(["exclusive", "shared"]),
    permits: z.number().int(),
    fence: Fence,
    acquiredAtMs: z.number().int(),
    expiresAtMs: z.number().int(),
    lockId: z.string().optional().openapi({ description: "Only for tokens with the admin scope." }),
  })
  .openapi("Holder");

export const Owns = z
  .object({
    ok: z.literal(true),
    owned: z.boolean(),
    key: z.string().optional(),
    mode: z.enum(["exclusive", "shared"]).optional(),
    permits: z.number().int().optional(),
    fence: Fence.optional(),
    expiresAtMs: z.number().int().optional(),
    serverTimeMs: ServerTime,
  })
  .openapi("Owns");

export const Lookup = z
  .object({
    ok: z.literal(true),
    locked: z.boolean(),
    holders: z
      .array(HolderSchema)
      .openapi({ description: "The live holders, oldest first: at most 100 (holderCount counts them all)." }),
    holderCount: z.number().int().openapi({ description: "How many live holders the key has." }),
    fence: Fence.nullable().openapi({ description: "The last fence issued on the key; null if never granted." }),
    expiresAtMs: z.number().int().nullable().openapi({ description: "When the last live holder expires." }),
    limit: z.number().int().nullable(),
    serverTimeMs: ServerTime,
  })
  .openapi("Lookup");

export const Time = z.object({ serverTimeMs: ServerTime }).openapi("Time");

export const Health = z
  .object({
    ok: z.literal(true),
    backend: z.string().openapi({ example: "durable-object" }),
    serverTimeMs: ServerTime,
    clock: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: "Firestore: which clock decides, and this instance's measured skew." }),
  })
  .openapi("Health");
