/**
 * Maps what the Firestore client throws (gRPC status codes) to LockError codes. A store
 * that is down, overloaded or aborting is ServiceUnavailable; one that did not answer in
 * time is NetworkTimeout; credentials it refuses are AuthFailed. Anything else from one of
 * our own requests is a defect (Internal).
 */
import { LockError } from "@holdfast/shared";

/** gRPC status codes (google.rpc.Code). */
export const GRPC = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** How Firestore words a document over its size limit. */
const TOO_LARGE = /maximum entity size|exceeds the maximum/i;

export function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** The write lost a race: the document changed (or was created) since it was read. Nothing was written. */
export function isConflict(error: unknown): boolean {
  const code = grpcCode(error);
  return code === GRPC.FAILED_PRECONDITION || code === GRPC.ALREADY_EXISTS || code === GRPC.ABORTED;
}

export function toLockError(error: unknown): LockError {
  if (error instanceof LockError) return error;
  const cause = error instanceof Error ? error : new Error(String(error));
  const detail = cause.message.split("\n")[0] ?? "";
  switch (grpcCode(error)) {
    case GRPC.DEADLINE_EXCEEDED:
      return new LockError("NetworkTimeout", "Firestore did not answer in time", { cause });
    case GRPC.PERMISSION_DENIED:
    case GRPC.UNAUTHENTICATED:
      return new LockError("AuthFailed", `Firestore refused this service's credentials: ${detail}`, { cause });
    case GRPC.ABORTED:
    case GRPC.UNAVAILABLE:
    case GRPC.RESOURCE_EXHAUSTED:
    case GRPC.CANCELLED:
    case GRPC.UNKNOWN:
    case GRPC.INTERNAL:
      return new LockError("ServiceUnavailable", `Firestore is unavailable; retry (${detail})`, { cause });
    case GRPC.INVALID_ARGUMENT:
      // A key's document past Firestore's 1 MiB (bounds raised above the defaults): the
      // write was refused whole, so nothing changed, and the key is full.
      if (TOO_LARGE.test(detail)) {
        return new LockError("CapacityExceeded", "the key's document is at Firestore's 1 MiB limit; nothing changed", {
          cause,
          limit: "document",
        });
      }
      return new LockError("Internal", `Firestore rejected a lock request: ${detail}`, { cause });
    default:
      // Any other status (or none: not from the client at all) is a defect of ours.
      return new LockError("Internal", `Firestore rejected a lock request: ${detail}`, { cause });
  }
}
