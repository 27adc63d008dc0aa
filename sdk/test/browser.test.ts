/**
 * The built SDK in a real browser: Debian's chromium (installed by the test setup when
 * missing), driven by playwright-core, loads the bundle from a page on one localhost
 * origin and locks against the real app on another, through CORS. Chromium resolves
 * no host but 127.0.0.1, so nothing leaves the machine.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleSdk } from "../build.ts";
import { createClient } from "../src/index.ts";
import { ensureChromium } from "./support/chromium.ts";
import { startTestServer, type TestServer, TOKEN } from "./support/server.ts";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
];

let pages: Server;
let pageOrigin: string;
let lockServer: TestServer;
let context: BrowserContext;
let page: Page;
const userDataDir = mkdtempSync(join(tmpdir(), "holdfast-chromium-"));

/** Serves the page and the SDK bundle; the lock service lives on another origin. */
async function servePage(bundle: string): Promise<Server> {
  const html = `<!doctype html><meta charset="utf-8"><title>holdfast</title>
<script type="module">import * as holdfast from "/holdfast.js"; window.holdfast = holdfast; document.title = "ready";</script>`;
  const server = createServer((request, response) => {
    const [type, body] = request.url === "/holdfast.js" ? ["text/javascript", bundle] : ["text/html", html];
    response.writeHead(200, { "content-type": `${type}; charset=utf-8` }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

beforeAll(async () => {
  const executablePath = ensureChromium();
  pages = await servePage(await bundleSdk());
  pageOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  lockServer = await startTestServer({ corsOrigins: [pageOrigin] });
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  page = await context.newPage();
  await page.goto(`${pageOrigin}/`);
  await page.waitForFunction(() => document.title === "ready");
}, 15 * 60_000); // a first run may install chromium

afterAll(async () => {
  await context?.close();
  await lockServer?.close();
  await new Promise((resolve) => pages?.close(resolve));
  rmSync(userDataDir, { recursive: true, force: true });
});

type Holdfast = typeof import("../src/index.ts");
declare global {
  interface Window {
    holdfast: Holdfast;
  }
}

describe("the SDK in chromium", () => {
  it("acquires, sees contention, extends and releases across origins", async () => {
    const url = lockServer.url;
    const outcome = await page.evaluate(
      async ({ url, token }) => {
        const { createClient } = window.holdfast;
        const client = createClient({ url, token });
        const lock = await client.acquire({ key: "browser:a", ttlMs: 5000, autoExtend: true });
        if (!lock.ok) return { granted: false };
        const contender = await client.acquire({ key: "browser:a" });
        const extended = await lock.extend(10_000);
        const owned = await client.owns({ lockId: lock.lockId });
        const released = await lock.release();
        return {
          granted: true,
          origin: location.origin,
          fence: lock.fence,
          contender: contender.ok,
          extended: extended.ok,
          owned: owned.owned,
          released: released.ok,
          signalAborted: lock.signal.aborted,
          clock: client.clock(),
        };
      },
      { url, token: TOKEN },
    );
    expect(outcome).toMatchObject({
      granted: true,
      origin: pageOrigin,
      contender: false,
      extended: true,
      owned: true,
      released: true,
      signalAborted: true,
    });
    expect(outcome.fence).toMatch(/^\d{15}$/);
    expect(new URL(url).origin).not.toBe(pageOrigin);
    // The release really reached the service.
    const node = createClient({ url, token: TOKEN });
    expect((await node.getByKey({ key: "browser:a" })).locked).toBe(false);
    expect(lockServer.requests).toContain("OPTIONS /v1/locks/acquire");
  });

  it("raises LockErrors in the page and recognises them with isLockError", async () => {
    const outcome = await page.evaluate(async (url) => {
      const { createClient, isLockError } = window.holdfast;
      const error = await createClient({ url, token: "wrong" })
        .acquire({ key: "browser:b" })
        .catch((e: unknown) => e);
      return { isLockError: isLockError(error), code: (error as { code?: string }).code };
    }, lockServer.url);
    expect(outcome).toEqual({ isLockError: true, code: "AuthFailed" });
  });

  it("runs createLock with the handle in the page", async () => {
    const fence = await page.evaluate(
      async ({ url, token }) => {
        const { createClient, createLock } = window.holdfast;
        return createLock(createClient({ url, token }))(async (lock) => lock.fence, { key: "browser:c" });
      },
      { url: lockServer.url, token: TOKEN },
    );
    expect(fence).toMatch(/^\d{15}$/);
  });

  it("is refused by a service that does not allow the page's origin", async () => {
    const closed = await startTestServer(); // no CORS origins
    try {
      const code = await page.evaluate(
        async ({ url, token }) => {
          const { createClient } = window.holdfast;
          const error = await createClient({ url, token })
            .acquire({ key: "browser:d" })
            .catch((e: { code?: string }) => e);
          return (error as { code?: string }).code;
        },
        { url: closed.url, token: TOKEN },
      );
      expect(code).toBe("ServiceUnavailable");
    } finally {
      await closed.close();
    }
  });

  it("renders the service's /docs under its policy, and refuses an asset that does not match its integrity", async () => {
    const packageDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
    const docsPage = await context.newPage();
    // The pinned CDN files, answered from the npm package here: nothing leaves the machine.
    let tamper = false;
    await docsPage.route("https://cdn.jsdelivr.net/**", (route) => {
      const file = basename(new URL(route.request().url()).pathname);
      const body = readFileSync(join(packageDir, file));
      return route.fulfill({
        status: 200,
        headers: {
          "content-type": file.endsWith(".css") ? "text/css" : "text/javascript",
          "access-control-allow-origin": "*",
        },
        body: tamper && file.endsWith(".js") ? Buffer.concat([body, Buffer.from("\n;window.tampered = true;")]) : body,
      });
    });
    try {
      await docsPage.goto(`${lockServer.url}/docs`);
      await docsPage.waitForSelector(".swagger-ui .info .title", { timeout: 20_000 });
      expect(await docsPage.textContent(".swagger-ui .info .title")).toContain("Holdfast");
      tamper = true;
      await docsPage.goto(`${lockServer.url}/docs`);
      await docsPage.waitForLoadState("load");
      expect(await docsPage.evaluate(() => "SwaggerUIBundle" in window || "tampered" in window)).toBe(false);
    } finally {
      await docsPage.close();
    }
  });
});
