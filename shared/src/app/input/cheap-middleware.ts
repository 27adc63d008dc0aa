/**
 * Hono's CORS and body-limit middleware, entered only when a request needs them. Both
 * touch the request or response in ways that are cheap on Workers but, under Node's
 * adapter (@hono/node-server), turn its lightweight Request and Response into full Web
 * objects with streams: `raw.body` for the limit, and, for CORS, headers set on `c.res`
 * before the route runs, which makes Hono copy the route's response to keep them.
 * Together they were a fifth of start:node's CPU per request (profiled under 32 clients).
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";

type CorsOptions = Parameters<typeof cors>[0];

/**
 * CORS for requests that carry an Origin (every browser's cross-origin request and
 * preflight does) and for every OPTIONS. Others get only `Vary: Origin`, as Hono's
 * middleware adds, so that a cache never serves their answer to a browser.
 */
export function corsForBrowsers(options: CorsOptions): MiddlewareHandler {
  const handle = cors(options);
  return async (c, next) => {
    if (c.req.method === "OPTIONS" || c.req.header("origin") !== undefined) return handle(c, next);
    // Set before the route answers, so that it goes out with the route's own headers: set
    // after, Hono would copy the response to add it.
    c.header("Vary", "Origin");
    await next();
  };
}

/**
 * A body of at most `maxBytes`. A declared Content-Length is checked without touching the
 * body (the runtime ends the body there); only a body without one (chunked) is counted
 * as it streams, by Hono's middleware.
 */
export function limitBody(
  maxBytes: number,
  onTooLarge: (c: Context) => Response | Promise<Response>,
): MiddlewareHandler {
  const counted = bodyLimit({ maxSize: maxBytes, onError: onTooLarge });
  return async (c, next) => {
    const length = c.req.header("content-length");
    if (length === undefined || c.req.header("transfer-encoding") !== undefined) return counted(c, next);
    return Number.parseInt(length, 10) > maxBytes ? onTooLarge(c) : next();
  };
}
