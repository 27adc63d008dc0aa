/**
 * A TCP fault proxy on 127.0.0.1, our own (node:net): it forwards every connection to a
 * target, and its mode, switchable at any time, decides what happens on the way.
 *
 * - `pass`: bytes as they come.
 * - `latency`: each chunk `ms` late, ± `jitterMs` (seeded), order kept.
 * - `blackhole`: connections accepted, nothing forwarded either way until the mode
 *   changes; then what was held flows on (a partition, as TCP lives through it).
 * - `reset`: every open connection, and each new one, destroyed with an RST.
 * - `drop-response` (HTTP): the request reaches the server, and when its answer comes
 *   back the client's connection is cut instead: applied, but the client cannot know.
 * - `duplicate` (HTTP): each whole request also goes to the server on a connection of
 *   its own, at the same time, whose answer is thrown away (a retry by the network
 *   racing the original); the client gets the original's answer.
 *
 * `share` (0..1, default 1) makes an HTTP mode hit only that share of requests. The HTTP
 * modes belong between clients and an HTTP server; on a store's protocol they would hold
 * bytes waiting for a request end that never comes. No backpressure: fault runs are
 * short and their messages small.
 */
import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import { random as seeded } from "../random.ts";
import { Link } from "./link.ts";

export type ProxyMode =
  | { kind: "pass" }
  | { kind: "latency"; ms: number; jitterMs?: number }
  | { kind: "blackhole" }
  | { kind: "reset" }
  | { kind: "drop-response"; share?: number }
  | { kind: "duplicate"; share?: number };

export interface ProxyStats {
  connections: number;
  resets: number;
  droppedResponses: number;
  duplicatedRequests: number;
}

export interface FaultProxy {
  /** For fault names: "server", "redis"… */
  readonly name: string;
  readonly port: number;
  /** `http://127.0.0.1:port`, for a proxy in front of an HTTP server. */
  readonly url: string;
  readonly mode: ProxyMode;
  readonly stats: ProxyStats;
  setMode(mode: ProxyMode): void;
  /** Closes the listener, cuts every connection, and resolves once all are closed. */
  close(): Promise<void>;
}

export interface ProxyOptions {
  name?: string;
  target: { host?: string; port: number };
  /** The port to listen on (0, the default: any free one). */
  port?: number;
  /** Seeds latency jitter and `share` choices. */
  seed?: number;
}

export async function startFaultProxy(options: ProxyOptions): Promise<FaultProxy> {
  const target = { host: options.target.host ?? "127.0.0.1", port: options.target.port };
  const random = seeded(options.seed ?? 1);
  const links = new Set<Link>();
  const sockets = new Set<Socket>();
  const stats: ProxyStats = { connections: 0, resets: 0, droppedResponses: 0, duplicatedRequests: 0 };
  let mode: ProxyMode = { kind: "pass" };

  const context = {
    target,
    stats,
    mode: () => mode,
    chance: (share = 1) => share >= 1 || random() < share,
    delay: () => (mode.kind === "latency" ? Math.max(0, mode.ms + (random() * 2 - 1) * (mode.jitterMs ?? 0)) : 0),
    track: (socket: Socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    },
  };

  const server = createServer({ allowHalfOpen: true }, (client) => {
    stats.connections++;
    context.track(client);
    if (mode.kind === "reset") {
      stats.resets++;
      client.on("error", () => undefined);
      client.resetAndDestroy();
      return;
    }
    const link = new Link(client, context);
    links.add(link);
    link.onClose(() => links.delete(link));
  });
  server.listen(options.port ?? 0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;

  return {
    name: options.name ?? `proxy:${target.port}`,
    port,
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    stats,
    setMode(next) {
      mode = next;
      for (const link of links) link.modeChanged();
    },
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const link of links) link.cut();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
