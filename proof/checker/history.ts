/**
 * A history: every operation the proof's clients made, as invoked and as answered, with
 * real-time stamps from one monotonic clock (the harness's `performance.now()`, shared by
 * all its clients). An answer is `ok` (the server said yes), `fail` (it said no, and so
 * changed nothing) or `unknown` (no answer, or one that does not say whether it was
 * applied: a timeout, a lost connection, a 5xx).
 */
export type Outcome = "ok" | "fail" | "unknown";

interface Timed {
  /** Index in the history, for reports. */
  index: number;
  client: string;
  invokeMs: number;
  /** When the answer arrived; for `unknown`, when the client gave up. */
  completeMs: number;
  outcome: Outcome;
  /** The HTTP status (0: no answer), so that "locked" (409) is told from other refusals. */
  status?: number;
}

export interface AcquireOp extends Timed {
  type: "acquire";
  key: string;
  mode: "exclusive" | "shared";
  permits: number;
  limit: number | null;
  ttlMs: number;
  /** Whether the request waited in the server's queue (waitMs > 0). */
  waited?: boolean;
  /** Sent with the request: every acquire with one key is one request, retried. */
  idempotencyKey?: string;
  /** Set when the client gave up after this long on purpose (its unknown is no outage). */
  abortAfterMs?: number;
  /**
   * A probe of a waiting request: its idempotency key, another TTL, waitMs 0. Answered 400
   * (idempotency mismatch, spec §3) only once the original is queued or granted: from then
   * on the original is ahead of every request sent later (R8).
   */
  probe?: boolean;
  /** A probe answered with the idempotency-mismatch 400 (its waiter queued or granted by then). */
  mismatch?: boolean;
  /** Set when `ok`. */
  lockId?: string;
  fence?: bigint;
}

export interface ReleaseOp extends Timed {
  type: "release";
  lockId: string;
}

export interface ExtendOp extends Timed {
  type: "extend";
  lockId: string;
  ttlMs: number;
}

/** `ok` with owned true or false; owned is meaningful only then. */
export interface OwnsOp extends Timed {
  type: "owns";
  lockId: string;
  owned?: boolean;
}

/** A write to the fenced resource, by the holder of `lockId`: accepted, or refused as stale. */
export interface WriteOp extends Timed {
  type: "write";
  key: string;
  lockId: string;
  fence: bigint;
  accepted?: boolean;
}

export type Op = AcquireOp | ReleaseOp | ExtendOp | OwnsOp | WriteOp;

/** Collects operations in invocation order; `complete` fills in the answer. */
export class HistoryRecorder {
  readonly ops: Op[] = [];
  constructor(private readonly now: () => number = () => performance.now()) {}

  invoke<T extends Op>(op: Omit<T, "index" | "invokeMs" | "completeMs" | "outcome">): T {
    const recorded = {
      ...op,
      index: this.ops.length,
      invokeMs: this.now(),
      completeMs: Number.NaN,
      outcome: "unknown",
    };
    this.ops.push(recorded as unknown as Op);
    return recorded as unknown as T;
  }

  complete<T extends Op>(op: T, outcome: Outcome, answer: Partial<T> = {}): T {
    Object.assign(op, answer, { outcome, completeMs: this.now() });
    return op;
  }
}
