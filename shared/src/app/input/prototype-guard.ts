import type { MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { LockError } from "../../errors.ts";

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Checks on a body before the route's schema sees it. It is not compressed: no runtime
 * here inflates a request body for us (the Firebase adapter drops the header once the
 * Functions Framework has), so a Content-Encoding is refused (415). The bytes must be valid
 * UTF-8. And JSON.parse keeps a `"__proto__"` key as an own property, which object validators
 * (zod's strict objects included) do not see as a key. Bodies are flat, so a top-level
 * check closes the gap: such a body is an unknown field like any other.
 */
export const rejectPrototypeKeys: MiddlewareHandler = async (c, next) => {
  const coding = c.req.header("content-encoding");
  if (coding && !/^identity$/i.test(coding))
    throw new HTTPException(415, { message: "Content-Encoding not supported" });
  if (/^application\/([a-z-.]+\+)?json/i.test(c.req.header("content-type") ?? "")) {
    // A lenient decoder turns every invalid byte into U+FFFD, so that different byte
    // strings would name one key: the body must be UTF-8.
    let text: string;
    try {
      text = STRICT_UTF8.decode(await c.req.arrayBuffer());
    } catch {
      throw new LockError("InvalidArgument", "body is not valid UTF-8");
    }
    // The text, where Hono's c.req.json() looks first: the route's validator parses it from
    // there, without Hono making a Response of the cached bytes to decode them again. (The
    // cache holds promises at run time, whatever its declared type says.)
    (c.req.bodyCache as unknown as { text?: Promise<string> }).text = Promise.resolve(text);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      // malformed: the route's validator answers 400
    }
    if (typeof body === "object" && body !== null && Object.hasOwn(body, "__proto__")) {
      throw new LockError("InvalidArgument", 'body: Unrecognized key: "__proto__"');
    }
  }
  await next();
};
