/**
 * What each workload asks the server for, one acquire at a time: a mutex (exclusive
 * grants), a semaphore (shared grants of 1..limit-1 permits under one limit per key, so
 * that permits matter), and a read-write lock (unlimited shared readers, exclusive
 * writers, on the same keys).
 */
export type WorkloadKind = "mutex" | "semaphore" | "read-write";

export const WORKLOADS: WorkloadKind[] = ["mutex", "semaphore", "read-write"];

export interface Shape {
  mode: "exclusive" | "shared";
  permits: number;
  /** The semaphore's limit; null for an exclusive grant or an unlimited reader. */
  limit: number | null;
}

/** `limit`: the semaphore's (at least 2, so that two holders can share it). */
export function shapeOf(kind: WorkloadKind, next: () => number, limit: number): Shape {
  if (kind === "semaphore") return { mode: "shared", permits: 1 + Math.floor(next() * (limit - 1)), limit };
  if (kind === "read-write" && next() < 0.7) return { mode: "shared", permits: 1, limit: null };
  return { mode: "exclusive", permits: 1, limit: null };
}

/** The request body's part for a shape: exclusive grants send neither permits nor limit. */
export function bodyOf(shape: Shape): object {
  if (shape.mode === "exclusive") return { mode: "exclusive" };
  return shape.limit === null ? { mode: "shared", permits: shape.permits } : shape;
}
