/**
 * The Durable Object backend, as the Worker sees it: each operation is one RPC to the
 * object named by the key id, which release/extend/owns read from the lockId itself.
 */
import {
  type AcquireResult,
  type Backend,
  checkBounds,
  type ExtendResult,
  type KeyBounds,
  type LookupResult,
  leaveOnAbort,
  type OwnsResult,
  type ReleaseResult,
} from "@holdfast/shared";
import { rpc } from "./errors.ts";
import { DURABLE_OBJECT_BOUNDS, type LockObject } from "./lock-object.ts";

/** `bounds`: per-key bounds (R9), handed to the object with each acquire; unset ones take DURABLE_OBJECT_BOUNDS. */
export function createDurableObjectBackend(
  namespace: DurableObjectNamespace<LockObject>,
  bounds: Partial<KeyBounds> = {},
): Backend {
  const keyBounds = checkBounds({ ...DURABLE_OBJECT_BOUNDS, ...bounds });
  const objectFor = (keyId: string) => namespace.get(namespace.idFromName(keyId));
  return {
    name: "durable-object",
    acquire: (request) => rpc<AcquireResult>(() => objectFor(request.keyId).acquire(request, 0, keyBounds)),
    async acquireQueued(request, { waitMs, signal, waitUntil, onQueued }) {
      const object = objectFor(request.keyId);
      const leaveQueue = () => {
        const left = object.cancelWait(request.token).catch(() => false);
        waitUntil?.(left);
      };
      const result = rpc<AcquireResult>(() => object.acquire(request, waitMs, keyBounds, onQueued));
      // Calls on one stub arrive in order, so a cancel sent now follows the acquire.
      const stopListening = leaveOnAbort(signal, leaveQueue);
      try {
        return await result;
      } finally {
        stopListening();
      }
    },
    release: (ref) => rpc<ReleaseResult>(() => objectFor(ref.keyId).release(ref)),
    extend: (ref, ttlMs) => rpc<ExtendResult>(() => objectFor(ref.keyId).extend(ref, ttlMs)),
    owns: (ref) => rpc<OwnsResult>(() => objectFor(ref.keyId).owns(ref)),
    lookup: (ref) => rpc<LookupResult>(() => objectFor(ref.keyId).lookup(ref)),
    // Workers and Durable Objects share Cloudflare's synchronised clock; every lock
    // answer carries the object's own time, this one only serves GET /v1/time.
    time: async () => Date.now(),
  };
}
