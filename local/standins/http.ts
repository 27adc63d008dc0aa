/** The HTTP plumbing both stand-ins share (Upstash's REST API, Neon's proxy). */
import type { IncomingMessage, Server } from "node:http";

/** A failure answered with this HTTP status and the protocol's error body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The whole body as text; past `maxBytes`, `tooLarge` (a 413) after draining the rest. */
export async function readBody(req: IncomingMessage, maxBytes: number, tooLarge: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Keep draining so that the 413 can still be sent on this socket.
    if (size <= maxBytes) chunks.push(chunk);
  }
  if (size > maxBytes) throw new HttpError(413, tooLarge);
  return Buffer.concat(chunks).toString("utf8");
}

export function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  const closed = new Promise<void>((done) => server.close(() => done()));
  // Keep-alive sockets (the clients' fetch keeps them) would hold close() open.
  server.closeAllConnections();
  return closed;
}

export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node's connect errors can be an AggregateError with an empty message.
  if (error.message) return error.message;
  const [first] = error instanceof AggregateError ? (error.errors as unknown[]) : [];
  if (first) return errorMessage(first);
  return (error as { code?: string }).code ?? error.name;
}
