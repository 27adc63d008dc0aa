/**
 * Pins each Upstash Lua script's SHA1 in its source file (`sha: "…"`), after an edit to a
 * script or to rules.lua.ts. edge/test/node/upstash/scripts.test.ts checks the pins against Redis.
 * Usage: npx tsx scripts/pin-lua-shas.ts
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";

const files = ["acquire", "release", "extend", "owns", "lookup", "wait"];
for (const file of files) {
  const path = `edge/src/upstash/${file}.ts`;
  const module = (await import(`../${path}`)) as Record<string, unknown>;
  const script = Object.values(module).find(
    (value): value is { name: string; source: string } =>
      typeof value === "object" && value !== null && "source" in value,
  );
  if (!script) throw new Error(`${path} exports no script`);
  const sha = createHash("sha1").update(script.source).digest("hex");
  writeFileSync(path, readFileSync(path, "utf8").replace(/sha: "[^"]*"/, `sha: "${sha}"`));
  console.log(`${script.name.padEnd(8)} ${sha}`);
}
