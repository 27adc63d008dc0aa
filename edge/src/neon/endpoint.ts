/**
 * Where to LISTEN. Neon's pooled connection string (its host's first label ends in
 * `-pooler`) goes through PgBouncer in transaction mode, which hands each transaction a
 * server connection of its own: a LISTEN is forgotten when its transaction ends and no
 * notification ever arrives, silently. The same endpoint without `-pooler` is the direct
 * one, so the listening connection goes there; statements keep the given endpoint.
 */
const POOLER_LABEL = /^([^.]+)-pooler(\.|$)/;

export function listenEndpoint(connectionString: string): string {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return connectionString; // the driver reports a malformed string when it connects
  }
  const direct = url.hostname.replace(POOLER_LABEL, "$1$2");
  if (direct === url.hostname) return connectionString;
  url.hostname = direct;
  return url.toString();
}

/** True when the connection string names a pooled (PgBouncer) endpoint. */
export function isPooled(connectionString: string): boolean {
  return listenEndpoint(connectionString) !== connectionString;
}
