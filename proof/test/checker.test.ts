/**
 * The checker on histories written by hand: quiet on what a correct server can answer,
 * and naming each kind of violation, with the operations that show it.
 */
import { describe, expect, it } from "vitest";
import { check, formatViolations } from "../checker/checker.ts";
import type { AcquireOp, Op, Outcome } from "../checker/history.ts";

/** A history builder: times in ms, one key unless said. */
function history() {
  const ops: Op[] = [];
  const at = (invokeMs: number, completeMs: number, outcome: Outcome) => ({
    index: ops.length,
    client: `c${ops.length}`,
    invokeMs,
    completeMs,
    outcome,
  });
  const self = {
    ops,
    grant(lockId: string, fence: number, [invokeMs, completeMs]: [number, number], extra: Partial<AcquireOp> = {}) {
      ops.push({
        ...at(invokeMs, completeMs, "ok"),
        type: "acquire",
        key: "k",
        mode: "exclusive",
        permits: 1,
        limit: null,
        ttlMs: 1_000,
        lockId,
        fence: BigInt(fence),
        ...extra,
      });
      return self;
    },
    release(lockId: string, [invokeMs, completeMs]: [number, number], outcome: Outcome = "ok") {
      ops.push({ ...at(invokeMs, completeMs, outcome), type: "release", lockId });
      return self;
    },
    extend(lockId: string, ttlMs: number, [invokeMs, completeMs]: [number, number], outcome: Outcome = "ok") {
      ops.push({ ...at(invokeMs, completeMs, outcome), type: "extend", lockId, ttlMs });
      return self;
    },
    owns(lockId: string, owned: boolean, [invokeMs, completeMs]: [number, number]) {
      ops.push({ ...at(invokeMs, completeMs, "ok"), type: "owns", lockId, owned });
      return self;
    },
    write(lockId: string, fence: number, accepted: boolean, [invokeMs, completeMs]: [number, number]) {
      ops.push({ ...at(invokeMs, completeMs, "ok"), type: "write", key: "k", lockId, fence: BigInt(fence), accepted });
      return self;
    },
  };
  return self;
}

/** An acquire like `op`, without its grant: the same request, answered otherwise. */
function unanswered(op: Op | undefined): AcquireOp {
  const { lockId: _lockId, fence: _fence, ...rest } = op as AcquireOp;
  return rest;
}

const kinds = (ops: Op[]) => check(ops).map((v) => v.kind);

describe("the checker", () => {
  it("is quiet on a correct history: handoffs, expiries, extends, an idempotent retry, fenced writes", () => {
    const h = history()
      .grant("a", 1, [0, 5])
      .grant("a", 1, [3, 8]) // the same grant again: a retried request
      .write("a", 1, true, [10, 11])
      .extend("a", 1_000, [500, 505])
      .owns("a", true, [600, 601])
      .release("a", [700, 702])
      .grant("b", 2, [690, 703]) // asked before a's release was answered: may be granted at once
      .write("b", 2, true, [710, 711])
      .write("a", 1, false, [712, 713]) // a's late write, refused as stale
      .grant("c", 3, [800, 3_000]) // b's lease ran out at 1,690 without a release
      .owns("b", false, [3_001, 3_002]);
    expect(check(h.ops)).toEqual([]);
  });

  it("finds two exclusive grants certainly held at once, and shows both", () => {
    const h = history().grant("a", 1, [0, 5]).grant("b", 2, [10, 20]);
    const [violation] = check(h.ops);
    expect(violation).toMatchObject({ kind: "overlap", key: "k" });
    expect(violation?.ops.map((op) => op.index)).toEqual([0, 1]);
    expect(formatViolations(check(h.ops))).toMatch(/overlap on "k".*\n {2}#0 .*\n {2}#1 /);
  });

  it("does not count what the client cannot prove: a lease past invoke + ttl, a hold after a release was sent", () => {
    expect(kinds(history().grant("a", 1, [0, 5]).grant("b", 2, [900, 1_001]).ops)).toEqual([]);
    expect(kinds(history().grant("a", 1, [0, 5]).release("a", [50, 0], "unknown").grant("b", 2, [40, 60]).ops)).toEqual(
      [],
    );
    // An extend that may have been applied may have shortened the lease.
    expect(
      kinds(history().grant("a", 1, [0, 5]).extend("a", 10, [20, 900], "unknown").grant("b", 2, [25, 40]).ops),
    ).toEqual([]);
  });

  it("finds shared grants past their limit, and under two limits", () => {
    const shared = { mode: "shared" as const, limit: 2 };
    const over = history().grant("a", 1, [0, 1], shared).grant("b", 2, [0, 2], shared).grant("c", 3, [0, 3], shared);
    expect(kinds(over.ops)).toEqual(["overlap"]);
    const within = history().grant("a", 1, [0, 1], shared).grant("b", 2, [0, 2], shared);
    expect(kinds(within.ops)).toEqual([]);
    const mixed = history().grant("a", 1, [0, 1], shared).grant("b", 2, [0, 2], { mode: "shared", limit: 3 });
    expect(kinds(mixed.ops)).toEqual(["overlap"]);
  });

  it("finds a fence granted twice, and a fence that went back", () => {
    const reused = history().grant("a", 1, [0, 5]).release("a", [10, 11]).grant("b", 1, [20, 25]);
    expect(kinds(reused.ops)).toContain("fence-reused");
    const back = history().grant("a", 7, [0, 5]).release("a", [10, 11]).grant("b", 3, [20, 25]);
    expect(kinds(back.ops)).toEqual(["fence-order"]);
    // Asked for before the other was answered: either order is right.
    expect(kinds(history().grant("a", 7, [0, 5]).release("a", [6, 7]).grant("b", 3, [4, 25]).ops)).toEqual([]);
  });

  it("finds a grant the store forgot: not held while certainly held", () => {
    expect(kinds(history().grant("a", 1, [0, 5]).owns("a", false, [100, 101]).ops)).toEqual(["lost-grant"]);
    expect(kinds(history().grant("a", 1, [0, 5]).extend("a", 1_000, [100, 101], "fail").ops)).toEqual(["lost-grant"]);
    expect(kinds(history().grant("a", 1, [0, 5]).release("a", [100, 101], "fail").ops)).toEqual(["lost-grant"]);
    // After invoke + ttl, "not held" is the truth.
    expect(kinds(history().grant("a", 1, [0, 5]).release("a", [1_000, 1_001], "fail").ops)).toEqual([]);
  });

  it('reads a release\'s "not held" as no lost grant only where the request may have been sent twice', () => {
    const ops = history().grant("a", 1, [0, 5]).release("a", [100, 101], "fail").ops;
    expect(kinds(ops)).toEqual(["lost-grant"]);
    // A duplicating fault was on: the copy may have released it first.
    expect(check(ops, { mayBeDuplicated: (op) => op.type === "release" }).map((v) => v.kind)).toEqual([]);
    // It excuses nothing else: an owns told "not held" is still a lost grant.
    const owns = history().grant("a", 1, [0, 5]).owns("a", false, [100, 101]).ops;
    expect(check(owns, { mayBeDuplicated: () => true }).map((v) => v.kind)).toEqual(["lost-grant"]);
  });

  it("allows a store's whole-millisecond clock its one step at the end of a lease, and no more", () => {
    const ttl = 1_000; // the lease of history().grant
    // Stamped floor(t), a lease may end up to 1 ms before invoke + ttl by the client's clock.
    expect(
      kinds(
        history()
          .grant("a", 1, [0, 5])
          .owns("a", false, [ttl - 0.5, ttl - 0.5]).ops,
      ),
    ).toEqual([]);
    expect(
      kinds(
        history()
          .grant("a", 1, [0, 5])
          .owns("a", false, [ttl - 2, ttl - 1.5]).ops,
      ),
    ).toEqual(["lost-grant"]);
  });

  it("checks the fenced resource: no stale write accepted, no write refused during a certain hold", () => {
    const stale = history().grant("a", 1, [0, 5]).release("a", [6, 7]).grant("b", 2, [8, 9]);
    stale.write("b", 2, true, [10, 11]).write("a", 1, true, [12, 13]);
    expect(kinds(stale.ops)).toEqual(["stale-write"]);
    const refused = history().grant("a", 5, [0, 5]).write("a", 5, false, [10, 11]);
    expect(kinds(refused.ops)).toEqual(["refused-while-held"]);
  });

  it("holds a retried request to its first send, and finds a retry answered otherwise during the hold", () => {
    const retried = { idempotencyKey: "r" };
    const sent = (h: ReturnType<typeof history>, [invokeMs, completeMs]: [number, number]) => {
      h.ops.push({
        index: h.ops.length,
        client: "c",
        invokeMs,
        completeMs,
        outcome: "unknown",
        type: "acquire",
        key: "k",
        mode: "exclusive",
        permits: 1,
        limit: null,
        ttlMs: 1_000,
        ...retried,
      });
      return h;
    };
    // Aborted at 0, retried at 500: the lease may have begun at 0, so b at 1,200 is no overlap.
    const late = sent(history(), [0, 1]).grant("a", 1, [500, 505], retried).grant("b", 2, [1_200, 1_210]);
    expect(kinds(late.ops)).toEqual([]);
    const twice = history()
      .grant("a", 1, [0, 5], retried)
      .grant("b", 2, [6, 8], { ...retried, mode: "shared" });
    expect(kinds(twice.ops)).toContain("idempotency");
    const locked = history().grant("a", 1, [0, 5], retried);
    locked.ops.push({
      ...unanswered(locked.ops[0]),
      index: 1,
      invokeMs: 6,
      completeMs: 8,
      outcome: "fail",
      status: 409,
    });
    expect(kinds(locked.ops)).toEqual(["idempotency"]);
    const limited = history().grant("a", 1, [0, 5], retried);
    limited.ops.push({
      ...unanswered(limited.ops[0]),
      index: 1,
      invokeMs: 6,
      completeMs: 8,
      outcome: "fail",
      status: 429,
    });
    expect(kinds(limited.ops)).toEqual([]);
  });
});
