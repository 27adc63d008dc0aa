import type { MiddlewareHandler } from "hono";
import { LockError } from "../errors.ts";

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Two checks on a JSON body before the route's schema sees it. The bytes must be valid
 * UTF-8. And JSON.parse keeps a `"__proto__"` key as an own property, which object validators
 * (zod's strict objects included) do not see as a key. Bodies are flat, so a top-level
 * check closes the gap: such a body is an unknown field like any other.
 */
export const rejectPrototypeKeys: MiddlewareHandler = async (c, next) => {
  if (/^application\/([a-z-.]+\+)?json/i.test(c.req.header("content-type") ?? "")) {
    // A lenient decoder turns every invalid byte into U+FFFD, so that different byte
    // strings would name one key: the body must be UTF-8.
    const raw = await c.req.arrayBuffer();
    try {
      STRICT_UTF8.decode(raw);
    } catch {
      throw new LockError("InvalidArgument", "body is not valid UTF-8");
    }
    // Hono caches the body, so the route's validator reuses these bytes and this parse (or its error).
    const body: unknown = await c.req.json().catch(() => undefined);
    if (typeof body === "object" && body !== null && Object.hasOwn(body, "__proto__")) {
      throw new LockError("InvalidArgument", 'body: Unrecognized key: "__proto__"');
    }
  }
  await next();
};
