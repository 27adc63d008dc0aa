/**
 * Issue 11, item 9: the docs page loads only pinned, integrity-checked assets under a
 * policy that forbids anything else; /openapi.json lists /health and the error statuses
 * the routes can answer; GET / says where things are.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createApp, createMemoryBackend, staticTokens } from "@holdfast/shared";
import { describe, expect, it } from "vitest";
import { SWAGGER_UI } from "../shared/src/app/meta/docs-page.ts";

const app = createApp({
  backend: createMemoryBackend(),
  auth: staticTokens([{ token: "t", tenant: "t", scopes: ["lock"] }]),
});

describe("/docs", () => {
  it("pins swagger-ui-dist with the SHA-384 of the npm package's files", () => {
    const packageDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
    const installed = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")).version;
    expect(installed).toBe(SWAGGER_UI.version);
    for (const asset of [SWAGGER_UI.js, SWAGGER_UI.css]) {
      const digest = createHash("sha384")
        .update(readFileSync(join(packageDir, asset.file)))
        .digest("base64");
      expect(asset.integrity).toBe(`sha384-${digest}`);
    }
  });

  it("loads every script and style with integrity, under a policy that allows nothing else", async () => {
    const response = await app.request("/docs");
    expect(response.status).toBe(200);
    const html = await response.text();
    const external = [...html.matchAll(/<(script|link)\b[^>]*(src|href)="(https:[^"]+)"[^>]*>/g)];
    expect(external).toHaveLength(2);
    for (const [tag, , , url] of external) {
      expect(url).toContain(`swagger-ui-dist@${SWAGGER_UI.version}/`);
      expect(tag).toMatch(/integrity="sha384-[A-Za-z0-9+/=]+"/);
      expect(tag).toContain('crossorigin="anonymous"');
    }
    expect(html).not.toMatch(/<script>(?!<\/script>)/); // no inline script
    const policy = response.headers.get("content-security-policy") ?? "";
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    const init = await app.request("/docs/init.js");
    expect(init.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await init.text()).toContain('url: "/openapi.json"');
  });
});

describe("/openapi.json", () => {
  it("lists /health and every error status an authenticated route can answer", async () => {
    const document = (await (await app.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { $ref?: string }> }>>;
      components: { responses: Record<string, unknown>; schemas: Record<string, unknown> };
    };
    // Shared error answers are components, and every reference resolves.
    expect(document.components.schemas).toHaveProperty("Error");
    for (const operations of Object.values(document.paths)) {
      for (const operation of Object.values(operations)) {
        for (const response of Object.values(operation.responses)) {
          if (response.$ref)
            expect(document.components.responses).toHaveProperty(response.$ref.split("/").pop() as string);
        }
      }
    }
    expect(document.paths["/health"]?.get?.responses).toHaveProperty("200");
    for (const [path, operations] of Object.entries(document.paths)) {
      if (!path.startsWith("/v1/locks/")) continue;
      const statuses = Object.keys(operations.post?.responses ?? {});
      expect(statuses).toEqual(expect.arrayContaining(["400", "401", "403", "413", "415", "429", "500", "503", "504"]));
    }
  });
});

describe("GET /", () => {
  it("says what the service is and where its docs, API and health are", async () => {
    const response = await app.request("/");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ docs: "/docs", openapi: "/openapi.json", health: "/health" });
  });
});
