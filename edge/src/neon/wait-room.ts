/**
 * The Worker's waiting room for Neon: a Durable Object that holds ONE listening
 * connection (shared-listener.ts) for every waiter that parks on it. In a Worker's
 * isolate a WebSocket serves only the request that opened it, so a connection shared by
 * the isolate's waiters is impossible there; a Durable Object's own I/O serves all of
 * its calls. Waiters are spread over WAIT_ROOM_SHARDS objects by their channel, so a
 * deployment holds at most that many listening connections, however many wait.
 *
 * A waiter calls `listen` and reads the stream it returns, one JSON line per event:
 * `true` once its LISTEN has run, then each notification's payload as a string. The
 * stream ends when the listening connection ends (the waiter then asks the store again
 * and calls once more). A waiter that stops waiting calls `leave`, which UNLISTENs and
 * ends its stream; a stream the waiter cancels (its request ended first) does the same.
 */
import { DurableObject } from "cloudflare:workers";
import type { PushChannel } from "@holdfast/shared";
import { Client } from "@neondatabase/serverless";
import type { Env } from "../env.ts";
import { pointAtLocalProxy } from "./context.ts";
import { listenEndpoint } from "./endpoint.ts";
import { SharedListener } from "./shared-listener.ts";

export const WAIT_ROOM_SHARDS = 8;

/** Where a waiting room's listening connection goes. */
export interface WaitRoomTarget {
  connectionString: string;
  /** The local stand-in of Neon's proxy (NeonBackendOptions.localProxy). */
  localProxy: boolean;
}

export class NeonWaitRoom extends DurableObject<Env> {
  /** One listener per database (a deployment names one). */
  private readonly listeners = new Map<string, SharedListener>();
  /** Each parked waiter's subscription, by its channel. */
  private readonly parked = new Map<string, PushChannel>();

  listen(target: WaitRoomTarget, channel: string): ReadableStream<Uint8Array> {
    if (target.localProxy) pointAtLocalProxy();
    const listener = this.listenerFor(target.connectionString);
    const encoder = new TextEncoder();
    let subscription: PushChannel | undefined;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        const send = (event: boolean | string) => {
          try {
            controller.enqueue(encoder.encode(`${JSON.stringify(event)}\n`));
          } catch {
            // The waiter already went away.
          }
        };
        subscription = listener.listen(channel, send);
        this.parked.set(channel, subscription);
        void subscription.ready.then((listening) => listening && send(true));
        const mine = subscription;
        void subscription.ended.then(() => {
          if (this.parked.get(channel) === mine) this.parked.delete(channel);
          try {
            controller.close();
          } catch {
            // Cancelled by the waiter first.
          }
        });
      },
      cancel: () => subscription?.close(),
    });
  }

  leave(channel: string): void {
    this.parked.get(channel)?.close();
  }

  private listenerFor(connectionString: string): SharedListener {
    let listener = this.listeners.get(connectionString);
    if (!listener) {
      const endpoint = listenEndpoint(connectionString);
      listener = new SharedListener(() => new Client({ connectionString: endpoint }));
      this.listeners.set(connectionString, listener);
    }
    return listener;
  }
}
