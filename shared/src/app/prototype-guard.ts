import type { MiddlewareHandler } from "hono";
import { LockError } from "../errors.ts";

/**
 * JSON.parse keeps a `"__proto__"` key as an own property, which object validators
 * (zod's strict objects included) do not see as a key. Bodies are flat, so a top-level
 * check closes the gap: such a body is an unknown field like any other.
 */
export const rejectPrototypeKeys: MiddlewareHandler = async (c, next) => {
  if (/^application\/([a-z-.]+\+)?json/i.test(c.req.header("content-type") ?? "")) {
    // Hono caches the parsed body, so the route's validator reuses this parse (or its error).
    const body: unknown = await c.req.json().catch(() => undefined);
    if (typeof body === "object" && body !== null && Object.hasOwn(body, "__proto__")) {
      throw new LockError("InvalidArgument", 'body: Unrecognized key: "__proto__"');
    }
  }
  await next();
};
