/**
 * Where the first HTTP/1.1 request in a byte buffer ends, so that the proxy can send a
 * whole request twice. Content-Length and chunked bodies; a request without either has
 * no body (RFC 9112 §6.3).
 */
export function requestLength(buffer: Buffer): number | undefined {
  const headEnd = buffer.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const head = buffer.subarray(0, headEnd).toString("latin1");
  const bodyStart = headEnd + 4;
  if (/^transfer-encoding:.*chunked/im.test(head)) return chunkedEnd(buffer, bodyStart);
  const length = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0);
  return buffer.length >= bodyStart + length ? bodyStart + length : undefined;
}

function chunkedEnd(buffer: Buffer, from: number): number | undefined {
  let at = from;
  for (;;) {
    const lineEnd = buffer.indexOf("\r\n", at);
    if (lineEnd < 0) return undefined;
    // parseInt stops at a chunk extension (";name=value").
    const size = Number.parseInt(buffer.subarray(at, lineEnd).toString("latin1"), 16);
    // Not HTTP after all: pass everything on rather than hold it forever.
    if (Number.isNaN(size)) return buffer.length;
    if (size === 0) {
      // The last chunk, then trailers (perhaps none), then an empty line.
      const end = buffer.indexOf("\r\n\r\n", lineEnd);
      return end < 0 ? undefined : end + 4;
    }
    at = lineEnd + 2 + size + 2;
    if (at > buffer.length) return undefined;
  }
}
