/**
 * One listening connection shared by every waiter of a backend instance, instead of one
 * per waiter: a waiter's channel is LISTENed on it (and UNLISTENed when the waiter goes),
 * in batches, and each notification goes to the waiter whose channel it names. However
 * many wait, this holds one Postgres connection.
 *
 * When the connection fails or ends, every waiter on it hears that its channel ended: the
 * shared pushed waiter then resubscribes and asks the store again (a notification may have
 * been missed meanwhile). The connection is opened again at the first subscription, after
 * a pause that doubles with each failure in a row, so a database that refuses connections
 * (53300 too_many_connections) is asked once per pause, not once per waiter. It closes
 * once nobody has waited for a second.
 */
import { channelSignals, type PushChannel } from "@holdfast/shared";
import type { Client } from "@neondatabase/serverless";

/** Channels per LISTEN/UNLISTEN round trip: one simple query of this many statements. */
const BATCH = 500;
const IDLE_CLOSE_MS = 1_000;
const RECONNECT_MS = 250;
const MAX_RECONNECT_MS = 4_000;
/** Channels are `<prefix>w_<token>`: prefix and token checked, but never quoted blindly. */
const CHANNEL = /^[A-Za-z0-9_-]{1,63}$/;

interface Listener {
  onPayload(payload: string): void;
  confirm(listening: boolean): void;
  finish(): void;
}

/** One physical connection and the channels it listens on. */
interface Link {
  client: Client;
  connected: boolean;
  dead: boolean;
  flushing: boolean;
  listened: Set<string>;
  /** Channels whose LISTEN state may differ from the wanted one. */
  dirty: Set<string>;
}

export class SharedListener {
  private readonly listeners = new Map<string, Listener>();
  private link: Link | undefined;
  private failures = 0;
  private retryAt = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** `open` makes an unconnected Client (with its 'error' listener added here, before any I/O). */
  constructor(private readonly open: () => Client) {}

  listen(channel: string, onPayload: (payload: string) => void): PushChannel {
    if (!CHANNEL.test(channel)) throw new Error(`not a channel name: ${channel}`);
    const { ready, confirm, ended, finish } = channelSignals();
    const listener: Listener = { onPayload, confirm, finish };
    // A channel belongs to one waiter: a second subscription replaces the first.
    this.listeners.get(channel)?.finish();
    this.listeners.set(channel, listener);
    this.touch(channel);
    const close = () => {
      if (this.listeners.get(channel) === listener) {
        this.listeners.delete(channel);
        this.touch(channel);
      }
      finish();
    };
    return { ready, ended, close };
  }

  /** Brings the connection's LISTENs in line with `channel`'s waiter, soon. */
  private touch(channel: string): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!this.link && !this.listeners.has(channel)) return;
    const link = this.link ?? this.connect();
    link.dirty.add(channel);
    void this.flush(link);
  }

  private connect(): Link {
    const link: Link = {
      client: this.open(),
      connected: false,
      dead: false,
      flushing: false,
      listened: new Set(),
      dirty: new Set(),
    };
    this.link = link;
    link.client.on("error", () => this.drop(link, true));
    link.client.on("end", () => this.drop(link, true));
    link.client.on("notification", (message) => {
      if (this.link !== link || message.payload === undefined) return;
      const listener = this.listeners.get(message.channel);
      try {
        listener?.onPayload(message.payload);
      } catch {
        // A payload its waiter cannot read must not end the process: the waiter asks the store instead.
        listener?.finish();
      }
    });
    const pause = Math.max(0, this.retryAt - Date.now());
    void (async () => {
      try {
        if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
        if (link.dead) return;
        await link.client.connect();
        link.connected = true;
        await this.flush(link);
      } catch {
        this.drop(link, true);
      }
    })();
    return link;
  }

  /** Sends the LISTENs and UNLISTENs that are due, a batch per round trip, one flush at a time. */
  private async flush(link: Link): Promise<void> {
    if (link.flushing || !link.connected || link.dead) return;
    link.flushing = true;
    try {
      while (link.dirty.size > 0 && !link.dead) {
        const batch = [...link.dirty].slice(0, BATCH);
        for (const channel of batch) link.dirty.delete(channel);
        const listen = batch.filter((channel) => this.listeners.has(channel) && !link.listened.has(channel));
        const unlisten = batch.filter((channel) => !this.listeners.has(channel) && link.listened.has(channel));
        // Quoted: tokens have capitals, and an unquoted identifier would be folded to lower case.
        const statements = [
          ...listen.map((channel) => `LISTEN "${channel}"`),
          ...unlisten.map((channel) => `UNLISTEN "${channel}"`),
        ];
        if (statements.length > 0) await link.client.query(statements.join("; "));
        if (link.dead) return;
        this.failures = 0;
        for (const channel of listen) link.listened.add(channel);
        for (const channel of unlisten) link.listened.delete(channel);
        for (const channel of batch) {
          if (link.listened.has(channel)) this.listeners.get(channel)?.confirm(true);
        }
      }
    } catch {
      this.drop(link, true);
    } finally {
      link.flushing = false;
    }
    if (!link.dead && this.listeners.size === 0 && !this.idleTimer) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined;
        if (this.listeners.size === 0) this.drop(link, false);
      }, IDLE_CLOSE_MS);
      // Node: an idle listener must not keep a process alive (workerd has no unref).
      (this.idleTimer as { unref?: () => void }).unref?.();
    }
  }

  /** Ends a connection; on failure, every waiter on it is told so and the next connect waits a little. */
  private drop(link: Link, failed: boolean): void {
    if (link.dead) return;
    link.dead = true;
    if (this.link === link) this.link = undefined;
    void link.client.end().catch(() => undefined);
    if (!failed) return;
    this.failures += 1;
    this.retryAt = Date.now() + Math.min(RECONNECT_MS * 2 ** (this.failures - 1), MAX_RECONNECT_MS);
    const listeners = [...this.listeners.values()];
    this.listeners.clear();
    for (const listener of listeners) listener.finish();
  }
}
