/**
 * "Does it serve yet?" checks for ManagedProcess: each answers true only once the
 * service answers requests, not merely accepts connections (Redis loading its AOF and
 * Postgres in crash recovery both accept and then refuse).
 */
import { connect } from "node:net";
import pg from "pg";

/** Any HTTP answer below 500 from `url`. */
export async function httpReady(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await response.arrayBuffer();
  return response.status < 500;
}

/** `PING` answered `+PONG` (not `-LOADING`). */
export function redisReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const done = (ready: boolean) => {
      socket.destroy();
      resolve(ready);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("data", (chunk: Buffer) => done(chunk.toString().startsWith("+PONG")));
    socket.write("PING\r\n");
  });
}

/** `SELECT 1` answered. */
export async function postgresReady(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}
