/**
 * Cloud Functions hands an HTTPS function an Express request whose body it has already
 * parsed; the shared app is a fetch handler that parses and guards the body itself. This
 * rebuilds the Web Request from the wire bytes (`req.rawBody`), so that body limits,
 * strict JSON and the prototype guard apply exactly as on every other runtime, and
 * writes the Web Response back. A client that goes away aborts the request's signal, so
 * that a waiter leaves the queue.
 */
import type { Response as ExpressResponse } from "express";
import type { Request as FunctionsRequest } from "firebase-functions/v2/https";

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export function expressHandler(handle: FetchHandler) {
  return async (req: FunctionsRequest, res: ExpressResponse): Promise<void> => {
    const aborter = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) aborter.abort();
    });
    const response = await handle(toWebRequest(req, aborter.signal));
    res.status(response.status);
    response.headers.forEach((value, name) => {
      res.setHeader(name, value);
    });
    res.end(Buffer.from(await response.arrayBuffer()));
  };
}

/** Headers that describe the wire bytes, which rawBody no longer is (the framework inflated a gzip body). */
const WIRE_HEADERS = new Set(["content-length", "content-encoding", "transfer-encoding"]);

function toWebRequest(req: FunctionsRequest, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || WIRE_HEADERS.has(name.toLowerCase())) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  const host = req.get("host") ?? "localhost";
  const url = new URL(req.originalUrl || req.url, `${req.protocol}://${host}`);
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  // An empty body has no rawBody: the app then answers "bad JSON" itself.
  const body = hasBody ? new Uint8Array(req.rawBody ?? new Uint8Array()) : undefined;
  // The app's body limit counts these bytes, as they are after any decoding.
  if (body !== undefined) headers.set("content-length", String(body.byteLength));
  return new Request(url, { method: req.method, headers, signal, ...(body === undefined ? {} : { body }) });
}
