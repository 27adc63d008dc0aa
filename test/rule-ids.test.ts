/**
 * The rules of docs/design.md ("The rules, once") have IDs, R1…R9, and every restatement
 * of them carries those IDs: the JavaScript core, the Upstash Lua, the Neon SQL and the
 * contract suites that hold each store to them. A rule missing from any of them, or a tag
 * naming a rule that does not exist, fails here.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const read = (path: string) => readFileSync(join(root, path), "utf8");

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name.startsWith(".")) return [];
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return /\.(ts|mts)$/.test(name) ? [path] : [];
  });
}

/** The normative list: `<n>. **R<n> <name>…**`, in order. */
const RULES = [...read("docs/design.md").matchAll(/^(\d+)\. \*\*(R\d+)\b/gm)].map(([, n = "", id = ""]) => ({ n, id }));
const TAG = /\bR(\d+)\b/g;
const tagsIn = (paths: string[]) =>
  new Set(paths.flatMap((path) => [...read(path).matchAll(TAG)].map((m) => `R${m[1]}`)));

/** Where the rules are restated, and where they are checked. */
const PLACES: Record<string, string[]> = {
  "the core (shared/src/core, shared/src/waiting/fair-queue.ts)": [
    ...sources("shared/src/core"),
    "shared/src/waiting/fair-queue.ts",
  ],
  "the Lua (edge/src/upstash)": sources("edge/src/upstash"),
  "the SQL (edge/src/neon/schema/functions.sql.ts)": ["edge/src/neon/schema/functions.sql.ts"],
  "the contract suites (shared/src/contract)": sources("shared/src/contract"),
};

describe("rule IDs", () => {
  it("lists R1…R9 in docs/design.md, numbered as their IDs", () => {
    expect(RULES.map(({ id }) => id)).toEqual(["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9"]);
    for (const { n, id } of RULES) expect(id).toBe(`R${n}`);
  });

  it.each(Object.entries(PLACES))("tags every rule in %s", (_place, paths) => {
    const tags = tagsIn(paths);
    expect(RULES.map(({ id }) => id).filter((id) => !tags.has(id))).toEqual([]);
  });

  it("never tags a rule that does not exist", () => {
    const known = new Set(RULES.map(({ id }) => id));
    const everywhere = ["shared/src", "edge/src", "functions/src", "sdk/src", "scripts", "test", "bench"].flatMap(
      sources,
    );
    const unknown = everywhere.flatMap((path) =>
      [...read(path).matchAll(TAG)]
        .map((m) => `R${m[1]}`)
        .filter((id) => !known.has(id))
        .map((id) => `${relative(".", path)}: ${id}`),
    );
    expect(unknown).toEqual([]);
  });
});
