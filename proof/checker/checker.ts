/**
 * The checker: what a history must never show, whatever the store, the faults or the
 * timing. Every check uses only what the client can prove (holds.ts), so a correct server
 * never fails it, and each violation comes with the smallest sub-history that shows it:
 * the operations of the grants involved.
 *
 * - overlap: an exclusive grant certainly held while another grant of its key certainly was;
 *   shared grants certainly held together past their limit, or under two limits (R4, R5);
 * - fence-reused: two grants of one key with one fence (R6: never reset, never repeated);
 * - fence-order: a grant answered before another was asked for has the higher fence (R6);
 * - lost-grant: a release, extend or owns answered "not held" while the grant certainly
 *   was (a grant the store forgot: a crash, a failover, a release that ignored its owner);
 * - stale-write: the fenced resource accepted a write older than one it had accepted;
 * - refused-while-held: the resource refused a write of a grant certainly held, so a newer
 *   fence reached it during that hold;
 * - idempotency: a request re-sent with the idempotency key of a grant certainly held was
 *   answered "locked" or with another grant (a retry must return the same grant);
 * - queue-order: a request asked for after a waiter was certainly queued (a probe with the
 *   waiter's idempotency key answered 400) was granted before that waiter (R8).
 */

import type { AcquireOp, Op, WriteOp } from "./history.ts";
import { type Grant, grantsOf, heldThroughout } from "./holds.ts";

export type ViolationKind =
  | "overlap"
  | "fence-reused"
  | "fence-order"
  | "lost-grant"
  | "stale-write"
  | "refused-while-held"
  | "idempotency"
  | "queue-order";

export interface Violation {
  kind: ViolationKind;
  key: string;
  message: string;
  /** The smallest sub-history that shows it, in invocation order. */
  ops: Op[];
}

const subHistory = (...grants: Grant[]): Op[] =>
  grants.flatMap((g) => [...g.acquires, ...g.uses]).sort((a, b) => a.invokeMs - b.invokeMs || a.index - b.index);

export interface CheckOptions {
  /**
   * Whether a request may have reached the server twice (a fault that duplicates requests
   * was on while it ran). A release is not idempotent: when its copy lands first, the
   * original is rightly told "not held", which is then no evidence of a lost grant.
   */
  mayBeDuplicated?: (op: Op) => boolean;
}

export function check(history: Op[], options: CheckOptions = {}): Violation[] {
  const grants = grantsOf(history);
  const byKey = new Map<string, Grant[]>();
  for (const grant of grants.values()) {
    const ofKey = byKey.get(grant.key);
    if (ofKey) ofKey.push(grant);
    else byKey.set(grant.key, [grant]);
  }
  const violations: Violation[] = [];
  for (const [key, ofKey] of byKey) {
    violations.push(...overlaps(key, ofKey), ...fences(key, ofKey));
  }
  const duplicated = options.mayBeDuplicated ?? (() => false);
  violations.push(
    ...queueOrder(history, grants),
    ...lostGrants(history, grants, duplicated),
    ...fencedWrites(history, grants),
    ...retries(history, grants),
  );
  return violations;
}

function overlaps(key: string, grants: Grant[]): Violation[] {
  const held = grants.filter((g) => g.startMs < g.endMs).sort((a, b) => a.startMs - b.startMs);
  const found: Violation[] = [];
  const open: Grant[] = [];
  for (const grant of held) {
    for (let i = open.length - 1; i >= 0; i--) if ((open[i] as Grant).endMs <= grant.startMs) open.splice(i, 1);
    for (const other of open) {
      if (grant.mode === "exclusive" || other.mode === "exclusive") {
        found.push({
          kind: "overlap",
          key,
          message: `${describe(other)} and ${describe(grant)} held at once`,
          ops: subHistory(other, grant),
        });
      } else if (grant.limit !== other.limit) {
        found.push({
          kind: "overlap",
          key,
          message: `shared grants under limits ${other.limit} and ${grant.limit} held at once`,
          ops: subHistory(other, grant),
        });
      }
    }
    open.push(grant);
    const shared = open.filter((g) => g.mode === "shared");
    const limit = grant.mode === "shared" ? grant.limit : null;
    const permits = shared.reduce((sum, g) => sum + g.permits, 0);
    if (limit !== null && permits > limit) {
      found.push({
        kind: "overlap",
        key,
        message: `${permits} permits held at once under limit ${limit}`,
        ops: subHistory(...shared),
      });
    }
  }
  return found;
}

function fences(key: string, grants: Grant[]): Violation[] {
  const found: Violation[] = [];
  const byFence = new Map<bigint, Grant>();
  for (const grant of grants) {
    const twin = byFence.get(grant.fence);
    if (twin)
      found.push({
        kind: "fence-reused",
        key,
        message: `fence ${grant.fence} granted twice`,
        ops: subHistory(twin, grant),
      });
    else byFence.set(grant.fence, grant);
  }
  // Each grant against the highest fence answered before it was asked for.
  const answered = [...grants].sort((a, b) => a.startMs - b.startMs);
  const asked = [...grants].sort((a, b) => a.askedMs - b.askedMs);
  let highest: Grant | undefined;
  let next = 0;
  for (const grant of asked) {
    while (next < answered.length && (answered[next] as Grant).startMs < grant.askedMs) {
      const done = answered[next++] as Grant;
      if (!highest || done.fence > highest.fence) highest = done;
    }
    if (highest && highest !== grant && grant.fence <= highest.fence) {
      found.push({
        kind: "fence-order",
        key,
        message: `${describe(grant)} was asked for after ${describe(highest)} was answered, with a fence not above it`,
        ops: subHistory(highest, grant),
      });
    }
  }
  return found;
}

/**
 * R8: a request queued ahead of another is granted first. A probe answered 400 dates a
 * waiting request's place (queued or granted by then); a request asked for after that
 * (by its first send) and granted with a lower fence was served first: it passed a waiter
 * that had not left, as the waiter's own later grant shows. (All the proof's requests have
 * one priority.)
 */
function queueOrder(history: Op[], grants: Map<string, Grant>): Violation[] {
  const found: Violation[] = [];
  const queuedAt = new Map<string, number>();
  for (const op of history) {
    if (op.type !== "acquire" || !op.probe || !op.mismatch || op.idempotencyKey === undefined) continue;
    queuedAt.set(op.idempotencyKey, Math.min(queuedAt.get(op.idempotencyKey) ?? op.completeMs, op.completeMs));
  }
  if (queuedAt.size === 0) return found;
  const byKey = new Map<string, Grant[]>();
  for (const grant of grants.values()) {
    const ofKey = byKey.get(grant.key);
    if (ofKey) ofKey.push(grant);
    else byKey.set(grant.key, [grant]);
  }
  for (const waiter of grants.values()) {
    const asked = waiter.acquires.find((a) => !a.probe && a.waited && a.idempotencyKey !== undefined);
    const at = asked?.idempotencyKey === undefined ? undefined : queuedAt.get(asked.idempotencyKey);
    if (at === undefined) continue;
    for (const other of byKey.get(waiter.key) ?? []) {
      if (other === waiter || other.askedMs <= at || other.fence >= waiter.fence) continue;
      found.push({
        kind: "queue-order",
        key: waiter.key,
        message: `${describe(other)}, asked for after ${describe(waiter)} was queued, was served before it`,
        ops: subHistory(waiter, other),
      });
    }
  }
  return found;
}

function lostGrants(history: Op[], grants: Map<string, Grant>, duplicated: (op: Op) => boolean): Violation[] {
  const found: Violation[] = [];
  for (const op of history) {
    if (op.type === "acquire" || op.type === "write" || op.outcome === "unknown") continue;
    if (op.type === "release" && duplicated(op)) continue;
    const notHeld = op.type === "owns" ? op.outcome === "ok" && op.owned === false : op.outcome === "fail";
    const grant = grants.get(op.lockId);
    if (!notHeld || !grant || !heldThroughout(grant, op)) continue;
    found.push({
      kind: "lost-grant",
      key: grant.key,
      message: `${op.type} answered "not held" during ${describe(grant)}'s certain hold`,
      ops: subHistory(grant),
    });
  }
  return found;
}

function fencedWrites(history: Op[], grants: Map<string, Grant>): Violation[] {
  const found: Violation[] = [];
  const writes = history.filter((op): op is WriteOp => op.type === "write" && op.outcome === "ok");
  const byKey = new Map<string, WriteOp[]>();
  for (const w of writes) {
    const ofKey = byKey.get(w.key);
    if (ofKey) ofKey.push(w);
    else byKey.set(w.key, [w]);
  }
  for (const [key, ofKey] of byKey) {
    const done = [...ofKey].filter((w) => w.accepted).sort((a, b) => a.completeMs - b.completeMs);
    let newest: WriteOp | undefined;
    let next = 0;
    for (const w of [...ofKey].sort((a, b) => a.invokeMs - b.invokeMs)) {
      while (next < done.length && (done[next] as WriteOp).completeMs < w.invokeMs) {
        const accepted = done[next++] as WriteOp;
        if (!newest || accepted.fence > newest.fence) newest = accepted;
      }
      if (w.accepted && newest && w.fence < newest.fence) {
        found.push({
          kind: "stale-write",
          key,
          message: `fence ${w.fence} accepted after fence ${newest.fence}`,
          ops: [newest, w],
        });
      }
      const grant = grants.get(w.lockId);
      // Only an exclusive grant may expect its write to stand: shared holders overlap by right.
      if (!w.accepted && grant?.mode === "exclusive" && heldThroughout(grant, w)) {
        found.push({
          kind: "refused-while-held",
          key,
          message: `the resource refused fence ${w.fence} during its certain hold`,
          ops: [...subHistory(grant)],
        });
      }
    }
  }
  return found;
}

function retries(history: Op[], grants: Map<string, Grant>): Violation[] {
  const found: Violation[] = [];
  const sent = new Map<string, AcquireOp[]>();
  for (const op of history) {
    if (op.type !== "acquire" || op.idempotencyKey === undefined) continue;
    const ofKey = sent.get(op.idempotencyKey);
    if (ofKey) ofKey.push(op);
    else sent.set(op.idempotencyKey, [op]);
  }
  for (const grant of grants.values()) {
    const seen = new Set<AcquireOp>();
    for (const answered of grant.acquires) {
      for (const again of sent.get(answered.idempotencyKey ?? "") ?? []) {
        if (seen.has(again) || again.outcome === "unknown" || again.lockId === grant.lockId) continue;
        // A refusal other than "locked" (a 429, say) changes nothing and promises nothing.
        if (again.outcome === "fail" && again.status !== undefined && again.status !== 409) continue;
        if (!heldThroughout(grant, again)) continue;
        seen.add(again);
        const answer = again.outcome === "fail" ? '"locked"' : `grant ${again.lockId} (fence ${again.fence})`;
        found.push({
          kind: "idempotency",
          key: grant.key,
          message: `a retry of ${describe(grant)}'s request, sent during its certain hold, was answered ${answer}`,
          ops: [...subHistory(grant), again].sort((a, b) => a.invokeMs - b.invokeMs || a.index - b.index),
        });
      }
    }
  }
  return found;
}

const describe = (grant: Grant) => `${grant.mode} grant ${grant.lockId} (fence ${grant.fence})`;

/** The report a person reads: each violation and the operations that show it. */
export function formatViolations(violations: Violation[]): string {
  return violations
    .map((v) => [`${v.kind} on ${JSON.stringify(v.key)}: ${v.message}`, ...v.ops.map(formatOp)].join("\n  "))
    .join("\n");
}

function formatOp(op: Op): string {
  const what =
    op.type === "acquire"
      ? `${op.mode} ttl ${op.ttlMs}${op.lockId ? ` -> ${op.lockId} fence ${op.fence}` : ""}`
      : "lockId" in op
        ? op.lockId
        : "";
  return `#${op.index} ${op.client} ${op.type} ${what} [${op.invokeMs.toFixed(1)}, ${op.completeMs.toFixed(1)}] ${op.outcome}`;
}
