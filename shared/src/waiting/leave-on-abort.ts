/**
 * Runs `leave` once when `signal` aborts, or at once if it already has (a listener added
 * to an aborted signal never fires). Call it after the wait has begun, so that there is
 * a waiter to leave. Returns the function that stops listening.
 */
export function leaveOnAbort(signal: AbortSignal, leave: () => void): () => void {
  if (signal.aborted) {
    leave();
    return () => {};
  }
  signal.addEventListener("abort", leave, { once: true });
  return () => signal.removeEventListener("abort", leave);
}
