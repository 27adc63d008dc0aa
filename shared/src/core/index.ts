export { acquireTransition, blockedUntil, sameRequest } from "./acquire.ts";
export { extendTransition } from "./extend.ts";
export { lookupOf, ownsOf } from "./read.ts";
export { releaseTransition } from "./release.ts";
export { assertSameKey, cloneState, emptyState, isLive, pruneExpired, viewOf } from "./state.ts";
export {
  cloneQueuedState,
  comesAfter,
  emptyQueuedState,
  extendAndServe,
  headRetryAt,
  locked,
  outcomeFor,
  type PostedOutcome,
  type QueuedKeyState,
  QueueNotLoaded,
  queueCheck,
  queuedAcquire,
  queueLength,
  queueStatusIn,
  releaseAndServe,
  type StoredWaiter,
  serveQueue,
  waiterView,
} from "./store-queue.ts";
export type { Outcome, Transition } from "./transition.ts";
