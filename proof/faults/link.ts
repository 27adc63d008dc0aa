/**
 * One proxied connection (proxy.ts): the client's socket, the target's, a lane each way,
 * and what the current mode does to the bytes as they arrive.
 */
import { connect, type Socket } from "node:net";
import { requestLength } from "./http-framing.ts";
import { Lane } from "./lane.ts";
import type { ProxyMode, ProxyStats } from "./proxy.ts";

export interface LinkContext {
  target: { host: string; port: number };
  stats: ProxyStats;
  mode(): ProxyMode;
  chance(share?: number): boolean;
  delay(): number;
  track(socket: Socket): void;
}

export class Link {
  private readonly upstream: Socket;
  private readonly toUpstream: Lane;
  private readonly toClient: Lane;
  /** Bytes of a request not yet whole, held while duplicating. */
  private partial = Buffer.alloc(0);
  /** Whether the answer to the latest request is to be dropped; chosen when it arrives. */
  private dropThisAnswer: boolean | undefined;
  private cutDone = false;

  constructor(
    private readonly client: Socket,
    private readonly context: LinkContext,
  ) {
    this.upstream = connect({ ...context.target, allowHalfOpen: true });
    context.track(this.upstream);
    this.toUpstream = new Lane((chunk) => send(this.upstream, chunk));
    this.toClient = new Lane((chunk) => send(this.client, chunk));
    this.modeChanged();
    client.on("data", (chunk: Buffer) => this.fromClient(chunk));
    client.on("end", () => this.toUpstream.push(null, context.delay()));
    this.upstream.on("data", (chunk: Buffer) => this.fromUpstream(chunk));
    this.upstream.on("end", () => this.toClient.push(null, context.delay()));
    // One side failing (a refused or reset target, a client gone) takes the other with it,
    // as an RST: the client sees what it would see without the proxy.
    for (const socket of [client, this.upstream]) socket.on("error", () => this.cut(false));
  }

  onClose(listener: () => void): void {
    let open = 2;
    for (const socket of [this.client, this.upstream]) socket.once("close", () => --open === 0 && listener());
  }

  modeChanged(): void {
    const mode = this.context.mode();
    if (mode.kind === "reset") {
      this.cut();
      return;
    }
    if (mode.kind !== "duplicate") this.flushPartial();
    this.toUpstream.hold(mode.kind === "blackhole");
    this.toClient.hold(mode.kind === "blackhole");
  }

  /** Both sockets destroyed with an RST. `counted`: a reset of the proxy's own making. */
  cut(counted = true): void {
    if (this.cutDone) return;
    this.cutDone = true;
    if (counted) this.context.stats.resets++;
    this.toUpstream.clear();
    this.toClient.clear();
    for (const socket of [this.client, this.upstream]) {
      if (!socket.destroyed) socket.resetAndDestroy();
    }
  }

  private fromClient(chunk: Buffer): void {
    this.dropThisAnswer = undefined;
    const mode = this.context.mode();
    if (mode.kind !== "duplicate") {
      this.toUpstream.push(chunk, this.context.delay());
      return;
    }
    this.partial = Buffer.concat([this.partial, chunk]);
    for (let length = requestLength(this.partial); length !== undefined; length = requestLength(this.partial)) {
      const request = this.partial.subarray(0, length);
      this.partial = this.partial.subarray(length);
      this.toUpstream.push(request);
      if (this.context.chance(mode.share)) this.sendCopy(request);
    }
  }

  private fromUpstream(chunk: Buffer): void {
    const mode = this.context.mode();
    if (mode.kind === "drop-response") {
      this.dropThisAnswer ??= this.context.chance(mode.share);
      if (this.dropThisAnswer) {
        this.context.stats.droppedResponses++;
        this.cut(false);
        return;
      }
    }
    this.toClient.push(chunk, this.context.delay());
  }

  private flushPartial(): void {
    if (this.partial.length === 0) return;
    this.toUpstream.push(this.partial);
    this.partial = Buffer.alloc(0);
  }

  private sendCopy(request: Buffer): void {
    this.context.stats.duplicatedRequests++;
    const copy = connect(this.context.target);
    this.context.track(copy);
    copy.on("error", () => undefined);
    // The server answered, so it applied the copy; the answer goes nowhere.
    copy.on("data", () => copy.destroy());
    copy.setTimeout(30_000, () => copy.destroy());
    copy.write(request);
  }
}

function send(socket: Socket, chunk: Buffer | null): void {
  if (socket.destroyed) return;
  if (chunk === null) socket.end();
  else socket.write(chunk);
}
