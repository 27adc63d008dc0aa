/**
 * One direction of a proxied connection. Bytes leave in the order they came, each no
 * earlier than its delay asks, and none while the lane is held (a blackhole). Holding
 * rather than dropping is what a partition does to TCP: the sender retransmits, and what
 * it sent arrives once the link is back, if the connection has not been given up by then.
 */
type Item = { at: number; chunk: Buffer | null };

export class Lane {
  private queue: Item[] = [];
  private timer: NodeJS.Timeout | undefined;
  private held = false;

  /** `deliver(null)`: the sender finished (FIN), after everything it sent. */
  constructor(private readonly deliver: (chunk: Buffer | null) => void) {}

  push(chunk: Buffer | null, delayMs = 0): void {
    // Never before the previous item: jitter must not reorder a byte stream.
    const at = Math.max(performance.now() + delayMs, this.queue.at(-1)?.at ?? 0);
    this.queue.push({ at, chunk });
    this.pump();
  }

  hold(held: boolean): void {
    this.held = held;
    this.pump();
  }

  /** Forgets what is queued (the connection was cut). */
  clear(): void {
    this.queue = [];
    clearTimeout(this.timer);
  }

  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.held) return;
    const now = performance.now();
    while (this.queue.length > 0 && (this.queue[0] as Item).at <= now) {
      this.deliver((this.queue.shift() as Item).chunk);
    }
    const next = this.queue[0];
    if (next) this.timer = setTimeout(() => this.pump(), next.at - now);
  }
}
