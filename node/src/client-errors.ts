/**
 * Node's HTTP parser refuses some requests before any handler sees them: headers past its
 * 16 KiB limit (431), a byte a header may not hold such as NUL or DEL (400), a broken
 * request line or chunk (400), a request that did not arrive in time (408). Node then
 * writes a bare status line; a client of Holdfast expects the JSON envelope with a code on
 * every answer, so the servers Holdfast runs in Node (start:node, start:firebase) answer
 * these with it. (On Workers and behind Google's front end the platform answers them
 * itself: README, "Answers the platform gives".)
 */
import type { Server } from "node:http";
import type { Duplex } from "node:stream";
import { errorBody } from "@holdfast/shared";

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
};

/** What Node's parser refused, as the envelope's status and message. */
export function clientErrorAnswer(code: string | undefined): { status: number; message: string } {
  if (code === "HPE_HEADER_OVERFLOW") return { status: 431, message: "request headers larger than 16 KiB" };
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return { status: 408, message: "the request did not arrive in time" };
  return { status: 400, message: `malformed HTTP request${code ? ` (${code})` : ""}` };
}

export function answerClientErrorsInJson(server: Server): void {
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Node's own rule: say something only if the socket can take it and no answer has begun.
    const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === "ECONNRESET" || !socket.writable || answering?.headersSent) {
      socket.destroy();
      return;
    }
    const { status, message } = clientErrorAnswer(error.code);
    const body = JSON.stringify(errorBody("InvalidArgument", message));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
