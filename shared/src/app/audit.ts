/**
 * The audit log: one structured line per failed authentication (401/403) and per request
 * made with the admin scope, for the operator's log pipeline. A line never holds a
 * secret or a capability: no token (a static token appears as its principal id, a digest),
 * no Authorization header, no body, no lockId.
 */
import type { Context } from "hono";
import type { HoldfastEnv } from "./context.ts";

export interface AuditEvent {
  audit: "auth-failed" | "admin";
  atMs: number;
  method: string;
  path: string;
  status: number;
  /** Known once the token was recognised. */
  tenant?: string;
  principal?: string;
  /** Why authentication or authorisation failed (the error's message). */
  reason?: string;
  /** The client's address as the platform reports it (Cloudflare, Google's front end). */
  ip?: string;
}

export type AuditSink = (event: AuditEvent) => void;

/** The default: a JSON line on stdout, which Workers Logs, Cloud Logging and journald all parse. */
export const consoleAudit: AuditSink = (event) => console.log(JSON.stringify(event));

export function auditEventOf(
  c: Context<HoldfastEnv>,
  kind: AuditEvent["audit"],
  status: number,
  reason?: string,
): AuditEvent {
  const principal = c.get("principal") as HoldfastEnv["Variables"]["principal"] | undefined;
  const ip = c.req.header("cf-connecting-ip") ?? c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
  return {
    audit: kind,
    atMs: Date.now(),
    method: c.req.method,
    path: c.req.path,
    status,
    ...(principal ? { tenant: principal.tenant, principal: principal.id } : {}),
    // Bounded: a refused token's header (its kid) is the caller's text.
    ...(reason === undefined ? {} : { reason: reason.slice(0, 200) }),
    ...(ip ? { ip } : {}),
  };
}
