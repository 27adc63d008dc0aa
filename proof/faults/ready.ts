/**
 * "Does it serve yet?" checks for ManagedProcess: each answers true only once the
 * service answers requests, not merely accepts connections (Redis loading its AOF and
 * Postgres in crash recovery both accept and then refuse).
 */
import { connect } from "node:net";

/** Any HTTP answer below 500 from `url`. */
export async function httpReady(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await response.arrayBuffer();
  return response.status < 500;
}

/** `PING` answered `+PONG` (not `-LOADING`). */
export function redisReady(port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const done = (ready: boolean) => {
      socket.destroy();
      resolve(ready);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on("error", () => done(false));
    socket.on("data", (chunk: Buffer) => done(chunk.toString().startsWith("+PONG")));
    socket.write("PING\r\n");
  });
}

/**
 * A Postgres session opened (ReadyForQuery), spoken in the wire protocol (v3) so that
 * faults/ needs no driver: in crash recovery the server answers the startup with an error.
 * Trust authentication, as the throwaway cluster has.
 */
export function postgresReady(port: number, user = "postgres"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let received = Buffer.alloc(0);
    const done = (ready: boolean) => {
      // Terminate ("X"), so that the server does not log a lost connection.
      if (ready) socket.end(Buffer.from([0x58, 0, 0, 0, 4]));
      else socket.destroy();
      resolve(ready);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // Messages: a type byte, then a length that counts itself and the body.
      while (received.length >= 5) {
        const type = String.fromCharCode(received[0] as number);
        if (type === "Z") return done(true);
        if (type === "E") return done(false);
        const length = received.readInt32BE(1);
        if (received.length < 1 + length) return;
        received = received.subarray(1 + length);
      }
    });
    const body = Buffer.from(`user\0${user}\0database\0postgres\0\0`);
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8 + body.length, 0);
    startup.writeInt32BE(196608, 4); // protocol 3.0
    socket.write(Buffer.concat([startup, body]));
  });
}
