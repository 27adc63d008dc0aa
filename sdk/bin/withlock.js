#!/usr/bin/env node
// The `withlock` command. A published package runs the bundle built into dist/; a
// checkout of the repository (no build step) runs the TypeScript source through tsx.
import { existsSync } from "node:fs";

const bundle = new URL("../dist/withlock.js", import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../cli/withlock.ts");
}
