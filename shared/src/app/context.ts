import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Backend } from "../backend.ts";
import type { Principal } from "./auth.ts";

export interface HoldfastEnv {
  Variables: { principal: Principal };
}

export type HoldfastApp = OpenAPIHono<HoldfastEnv>;

/** What the route handlers need, resolved from the app options. */
export interface RouteDeps {
  backend: Backend;
  storeTimeoutMs: number;
  waitCapMs: number;
}

export const bearerSecurity = [{ bearerAuth: [] }];

export function jsonBody<T>(schema: T) {
  return { content: { "application/json": { schema } }, required: true } as const;
}

export function jsonResponse<T>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}
