/**
 * The layers of shared/ point one way: the core (pure rules) imports neither the waiting
 * strategies nor the app; waiting imports no app. An import the other way fails here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const src = new URL("../src/", import.meta.url).pathname;
const importsOf = (dir: string) =>
  readdirSync(join(src, dir), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .flatMap((file) =>
      [...readFileSync(join(src, dir, file), "utf8").matchAll(/from "([^"]+)"/g)].map((m) => `${dir}/${file}: ${m[1]}`),
    );

describe("layers", () => {
  it("the core imports nothing from waiting/ or app/", () => {
    expect(importsOf("core").filter((line) => /: \.\.\/(waiting|app)\//.test(line))).toEqual([]);
  });
  it("waiting/ imports nothing from app/", () => {
    expect(importsOf("waiting").filter((line) => /: \.\.\/app\//.test(line))).toEqual([]);
  });
});
