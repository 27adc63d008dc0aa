/**
 * The lean Worker bundle (issue 10, item 4) stays lean and stays right:
 * - zod's English messages (as shared/src/zod-english.ts words them; no zod locale file),
 *   no classic zod or OpenAPI generator, every store driver in;
 * - `/openapi.json` serves, byte for byte, what @hono/zod-openapi generates from the
 *   schemas now (the committed JSON cannot drift from them), and every documented
 *   operation is served;
 * - the zod/mini schemas the server validates with accept and reject exactly what the
 *   classic schemas the document is generated from do, with the same issues.
 * Sizes are reported by bench/bundle-size.bench.ts, not asserted here.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { type BundleMeasure, measureWorkerBundle, STORE_DRIVERS } from "../scripts/build-worker.ts";
import { openApiFileIsCurrent } from "../scripts/gen-openapi.ts";
// The zod the server runs (shared's own, which may be newer than the repository root's).
import en from "../shared/node_modules/zod/v4/locales/en.js";
import { buildOpenApiDocument, renderOpenApiJson } from "../shared/src/app/meta/openapi-spec.ts";
import * as documented from "../shared/src/app/meta/requests.ts";
import { createApp, createMemoryBackend, staticTokens } from "../shared/src/index.ts";
import * as runtime from "../shared/src/validation.ts";
import { english, type IssueForMessage } from "../shared/src/zod-english.ts";

describe("Worker bundle", () => {
  let bundle: BundleMeasure;
  let inputs: string[];
  beforeAll(async () => {
    bundle = await measureWorkerBundle();
    // The modules that put bytes in the output: esbuild lists every file it read, shaken out or not.
    inputs = Object.values(bundle.metafile.outputs).flatMap((output) =>
      Object.entries(output.inputs)
        .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
        .map(([path]) => path),
    );
  }, 60_000);

  it("carries zod's English messages, in shared/src/zod-english.ts, and no zod locale file", () => {
    const locales = inputs.filter((path) => /node_modules\/zod\/(v4\/)?locales\//.test(path));
    expect(locales).toEqual([]);
    expect(inputs).toContain("shared/src/zod-english.ts");
  });

  it("ships neither classic zod nor the OpenAPI generator, only the generated document", () => {
    const shipped = (fragment: string) => inputs.some((path) => path.includes(fragment));
    expect(shipped("node_modules/zod/v4/classic/")).toBe(false);
    expect(shipped("@asteasolutions/zod-to-openapi")).toBe(false);
    expect(shipped("@hono/zod-openapi")).toBe(false);
    expect(shipped("shared/src/app/meta/openapi-spec.ts")).toBe(false);
    expect(shipped("shared/src/app/meta/openapi.json")).toBe(true);
  });

  it("keeps every backend on its official driver", () => {
    for (const driver of STORE_DRIVERS)
      expect(inputs.some((path) => path.includes(`node_modules/${driver}/`))).toBe(true);
    for (const backend of ["durable-object", "upstash", "neon"]) {
      expect(inputs.some((path) => path.startsWith(`edge/src/${backend}/`))).toBe(true);
    }
  });
});

describe("/openapi.json", () => {
  const app = createApp({ backend: createMemoryBackend(), auth: staticTokens([]) });

  it("is what @hono/zod-openapi generates from the zod schemas, byte for byte", async () => {
    expect(openApiFileIsCurrent()).toBe(true);
    const response = await app.request("/openapi.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.text()).toBe(renderOpenApiJson());
  });

  it("documents only operations the app serves", async () => {
    const document = buildOpenApiDocument() as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({ path, method: method.toUpperCase() })),
    );
    expect(operations.length).toBeGreaterThan(0);
    for (const { path, method } of operations) {
      const response = await app.request(path, { method });
      const body = (await response.json()) as { error?: { message?: string } };
      expect(body.error?.message ?? "", `${method} ${path}`).not.toMatch(/^no route/);
    }
  });
});

describe("shared/src/zod-english.ts words issues as zod's English locale does", () => {
  const inputs: unknown[] = [
    null,
    [],
    [1],
    {},
    new Date(0),
    "",
    "x",
    0,
    1.5,
    -0,
    Number.NaN,
    Infinity,
    -Infinity,
    true,
    7n,
  ];
  const issues: IssueForMessage[] = [
    ...["string", "number", "int", "object", "boolean", "nan", "array"].flatMap((expected) =>
      inputs.map((input) => ({ code: "invalid_type", expected, input })),
    ),
    { code: "invalid_value", values: ["exclusive"] },
    { code: "invalid_value", values: ["exclusive", "shared"] },
    { code: "invalid_value", values: [1, true, null, 2n] },
    ...["too_big", "too_small"].flatMap((code) =>
      ["string", "number", undefined].flatMap((origin) =>
        [{ inclusive: true }, { inclusive: false }, { exact: true, inclusive: true }].flatMap((flags) =>
          [0, 128, 9007199254740991, 86_400_000, 5n].map((bound) => ({
            code,
            ...(origin === undefined ? {} : { origin }),
            ...flags,
            ...(code === "too_big" ? { maximum: bound } : { minimum: bound }),
          })),
        ),
      ),
    ),
    { code: "unrecognized_keys", keys: ["extra"] },
    { code: "unrecognized_keys", keys: ["extra", "constructor"] },
    { code: "unrecognized_keys", keys: [] },
  ];
  const ours = english().localeError;
  const zods = en().localeError as unknown as (issue: IssueForMessage) => string;

  it("for every issue the request schemas can raise without a message of their own", () => {
    for (const issue of issues)
      expect(
        ours(issue),
        JSON.stringify(issue, (_, v) => (typeof v === "bigint" ? `${v}n` : v)),
      ).toBe(zods(issue));
  });
});

describe("runtime validation (zod/mini) matches the documented schemas (classic zod)", () => {
  const lockId = "q1Zb0m6uV7n3bJz0Qm1H1g.Kx3p9QvZbYc2Lr8TnWm4Aa";
  const anyValue = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(
      "",
      "é".repeat(257),
      "\ud800",
      "a\udc00b",
      "x".repeat(513),
      "é".repeat(256),
      lockId,
      `${lockId}x`,
      "exclusive",
      "shared",
      "shared ",
      "idem-1",
      "with space",
      "k".repeat(129),
    ),
    fc.integer({ min: -2_000_000, max: 90_000_000 }),
    fc.constantFrom(-1_000_001, -1_000_000, 0, 1, 99, 100, 1_000_000, 1_000_001, 3_600_000, 3_600_001),
    fc.constantFrom(86_400_000, 86_400_001, 0.5, 1.5, 100.25, -0, 2 ** 53, -(2 ** 53)),
  );
  const fields = ["key", "ttlMs", "mode", "permits", "limit", "waitMs", "idempotencyKey", "priority", "lockId"];
  const body = fc.oneof(
    fc.dictionary(fc.constantFrom(...fields, "extra", "constructor"), anyValue, { maxKeys: 6 }),
    anyValue,
  );

  // What a route answers with: the parsed body, or the issues that become the envelope.
  const outcome = (schema: { safeParse(value: unknown): unknown }, value: unknown) => {
    const result = schema.safeParse(value) as
      | { success: true; data: unknown }
      | { success: false; error: { issues: Array<{ code: string; path: PropertyKey[]; message: string }> } };
    if (result.success) return { data: result.data };
    return { issues: result.error.issues.map(({ code, path, message }) => ({ code, path, message })) };
  };

  const pairs = [
    ["AcquireBody", runtime.AcquireBody, documented.AcquireBody],
    ["LockIdBody", runtime.LockIdBody, documented.LockIdBody],
    ["ExtendBody", runtime.ExtendBody, documented.ExtendBody],
    ["LookupBody", runtime.LookupBody, documented.LookupBody],
    ["KeySchema", runtime.KeySchema, documented.KeySchema],
    ["IdempotencyKeySchema", runtime.IdempotencyKeySchema, documented.IdempotencyKeySchema],
  ] as const;

  for (const [name, mini, classic] of pairs) {
    it(name, () => {
      fc.assert(
        fc.property(body, (value) => {
          // A top-level "__proto__" never reaches a schema: app/input/prototype-guard.ts answers it
          // first (zod 4.6 reports it as an unknown key itself, zod 4.4 did not see it).
          fc.pre(!(typeof value === "object" && value !== null && Object.hasOwn(value, "__proto__")));
          expect(outcome(mini, value)).toEqual(outcome(classic, value));
        }),
        { numRuns: Number(process.env.RUNS ?? 2_000) },
      );
    });
  }

  it("accepts and fills in a full shared-mode acquire the same way", () => {
    const value = { key: "k", mode: "shared", permits: 2, limit: 3, idempotencyKey: "i", priority: -5 };
    expect(outcome(runtime.AcquireBody, value)).toEqual(outcome(documented.AcquireBody, value));
    expect(outcome(runtime.AcquireBody, value)).toEqual({ data: { ...value, ttlMs: 30_000, waitMs: 0 } });
  });
});
