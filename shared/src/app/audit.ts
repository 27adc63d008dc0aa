/**
 * The audit log: one structured line per failed authentication (401/403) and per use of
 * the admin scope's privilege (a lookup that shows raw lockIds), for the operator's log
 * pipeline. A line never holds a
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
  /** The client's address, where the runtime knows it for sure (AppOptions.clientAddress). */
  ip?: string;
}

export type AuditSink = (event: AuditEvent) => void;

/**
 * Where the runtime learns the client's address: a header only the platform sets
 * (Workers: `cf-connecting-ip`) or the socket (Node). A header a client can send itself
 * is never used: it would let an attacker write any address into the log.
 */
export type ClientAddress = (c: Context<HoldfastEnv>) => string | undefined;

/** The default: a JSON line on stdout, which Workers Logs, Cloud Logging and journald all parse. */
export const consoleAudit: AuditSink = (event) => console.log(JSON.stringify(event));

export function auditEventOf(
  c: Context<HoldfastEnv>,
  kind: AuditEvent["audit"],
  status: number,
  clientAddress: ClientAddress | undefined,
  reason?: string,
): AuditEvent {
  const principal = c.get("principal") as HoldfastEnv["Variables"]["principal"] | undefined;
  const ip = clientAddress?.(c)?.slice(0, 64);
  return {
    audit: kind,
    atMs: Date.now(),
    method: c.req.method.slice(0, 16),
    path: c.req.path.slice(0, 200),
    status,
    ...(principal ? { tenant: principal.tenant, principal: principal.id } : {}),
    // Bounded: a refused token's header (its kid) is the caller's text.
    ...(reason === undefined ? {} : { reason: reason.slice(0, 200) }),
    ...(ip ? { ip } : {}),
  };
}
