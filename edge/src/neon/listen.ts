/**
 * How a waiter hears its handoff: a `Listen` function subscribes to one channel and
 * returns the shared pushed waiter's PushChannel. Both ways LISTEN on the direct endpoint
 * (endpoint.ts), never through Neon's PgBouncer.
 *
 * - "shared" (the default): one connection per backend instance for every waiter
 *   (shared-listener.ts). For runtimes where a connection may serve many requests: Node, a
 *   Durable Object.
 * - "per-waiter": one connection per waiting request, closed when it stops waiting. For a
 *   Worker's isolate, where a WebSocket opened by one request cannot be used by another;
 *   it costs a Postgres connection per waiter.
 * - any other Listen, such as the Worker's waiting room (a Durable Object that holds
 *   the shared connection).
 */
import { channelSignals, type PushChannel } from "@holdfast/shared";
import { Client } from "@neondatabase/serverless";
import { listenEndpoint } from "./endpoint.ts";
import { SharedListener } from "./shared-listener.ts";

export type Listen = (channel: string, onPayload: (payload: string) => void) => PushChannel;

export function sharedListen(connectionString: string): Listen {
  const endpoint = listenEndpoint(connectionString);
  const listener = new SharedListener(() => new Client({ connectionString: endpoint }));
  return (channel, onPayload) => listener.listen(channel, onPayload);
}

/** One connection that LISTENs on one waiter's channel; ready once LISTEN has run. */
export function perWaiterListen(connectionString: string): Listen {
  const endpoint = listenEndpoint(connectionString);
  return (channel, onPayload) => {
    const client = new Client({ connectionString: endpoint });
    const { ready, confirm, ended, finish } = channelSignals();
    client.on("notification", (message) => {
      if (message.channel === channel && message.payload !== undefined) onPayload(message.payload);
    });
    client.on("error", () => finish());
    client.on("end", () => finish());
    void (async () => {
      try {
        await client.connect();
        // Quoted: tokens have capitals, and an unquoted identifier would be folded to lower case.
        await client.query(`LISTEN "${channel}"`);
        confirm(true);
      } catch {
        finish();
      }
    })();
    return { ready, ended, close: () => void client.end().catch(() => undefined) };
  };
}
