/**
 * One request of the proof to a Holdfast deployment, classified as the checker needs it:
 * `ok` (the server did it), `fail` (it said no, so nothing changed: 409 locked, 404 not
 * held, any other 4xx) or `unknown` (5xx, a lost connection or no answer in time: it may or
 * may not have been applied).
 */
import type { Outcome } from "../checker/history.ts";
import { leanPost } from "./lean-http.ts";

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export interface Answer {
  outcome: Outcome;
  status: number;
  body: Record<string, unknown>;
}

export interface Target {
  url: string;
  token: string;
  /** How requests are sent (tests: in process; faults: with a back-off). Default: lean-http.ts. */
  fetch?: Fetch;
  /** How long a request may take before its outcome counts as unknown (default 30 s). */
  timeoutMs?: number;
}

/**
 * `abortAfterMs`: the client gives up then, as a caller whose own deadline passed would;
 * the server may have applied the request all the same, so the outcome is unknown.
 */
export async function call(target: Target, path: string, body: object, abortAfterMs?: number): Promise<Answer> {
  const timeoutMs = target.timeoutMs ?? 30_000;
  // node:http only for plain http (the local stores); fetch for https deployments.
  if (!target.fetch && target.url.startsWith("http://")) {
    return leanPost(`${target.url}${path}`, target.token, body, Math.min(timeoutMs, abortAfterMs ?? timeoutMs));
  }
  const doFetch = target.fetch ?? fetch;
  try {
    const response = await doFetch(`${target.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${target.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: signalFor(timeoutMs, abortAfterMs),
    });
    const parsed = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    const outcome = response.ok ? "ok" : response.status >= 500 ? "unknown" : "fail";
    return { outcome, status: response.status, body: parsed };
  } catch {
    return { outcome: "unknown", status: 0, body: {} };
  }
}

function signalFor(timeoutMs: number, abortAfterMs: number | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return abortAfterMs === undefined ? timeout : AbortSignal.any([timeout, AbortSignal.timeout(abortAfterMs)]);
}
