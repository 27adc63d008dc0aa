import type { Hono } from "hono";
import type { Backend } from "../backend.ts";
import type { Principal } from "./auth/auth.ts";

export interface HoldfastEnv {
  Variables: {
    principal: Principal;
    /** Set by a route that used the admin scope's privilege (raw lockIds): the request is audited. */
    usedAdmin?: boolean;
  };
}

export type HoldfastApp = Hono<HoldfastEnv>;

/** What the route handlers need, resolved from the app options. */
export interface RouteDeps {
  backend: Backend;
  storeTimeoutMs: number;
  waitCapMs: number;
}
