/**
 * The real Holdfast app (memory backend) served in-process on 127.0.0.1:0, for the
 * SDK's tests. `hang(paths)` makes the server stop answering those routes (requests
 * are accepted and never answered), for fault tests.
 */
import type { AddressInfo } from "node:net";
import { type AppOptions, createApp, createMemoryBackend, staticTokens } from "@holdfast/shared";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll } from "vitest";
import { createClient } from "../../src/index.ts";

export const TOKEN = "sdk-test";
/** A token with only the read scope, and one for another tenant. */
export const READ_TOKEN = "sdk-read";
export const OTHER_TENANT_TOKEN = "sdk-other";

export interface TestServer {
  url: string;
  /** Requests to these paths (e.g. "/v1/locks/extend") are left unanswered until `hang([])`. */
  hang(paths: string[]): void;
  /** Every request the server received, as "METHOD /path". */
  requests: string[];
  close(): Promise<void>;
}

export async function startTestServer(options: Partial<AppOptions> = {}): Promise<TestServer> {
  const app = createApp({
    backend: createMemoryBackend(),
    auth: staticTokens([
      { token: TOKEN, tenant: "sdk", scopes: ["lock", "read", "admin"] },
      // The README's examples use npm start's default token.
      { token: "dev", tenant: "readme", scopes: ["lock", "read", "admin"] },
      { token: READ_TOKEN, tenant: "sdk", scopes: ["read"] },
      { token: OTHER_TENANT_TOKEN, tenant: "other", scopes: ["lock", "read"] },
    ]),
    logError: () => {},
    audit: () => {},
    ...options,
  });
  let hanging = new Set<string>();
  const requests: string[] = [];
  const handler = (request: Request) => {
    const path = new URL(request.url).pathname;
    requests.push(`${request.method} ${path}`);
    return hanging.has(path) ? new Promise<Response>(() => {}) : app.fetch(request);
  };
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: handler, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hang(paths) {
      hanging = new Set(paths);
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        // Hanging requests would keep close() waiting forever.
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * Starts the app before a test file's tests, with a client for it (token TOKEN), hands
 * both to `onStart`, and stops the app after them.
 */
export function useTestServer(
  onStart: (server: TestServer, client: ReturnType<typeof createClient>) => void,
  options: Partial<AppOptions> = {},
): void {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(options);
    onStart(server, createClient({ url: server.url, token: TOKEN }));
  });
  afterAll(() => server?.close());
}
