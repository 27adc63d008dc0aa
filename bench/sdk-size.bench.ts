/** Size of the SDK as browsers get it: the whole package bundled by esbuild, minified, gzipped (zlib default level). */
import { gzipSync } from "node:zlib";
import { bundleSdk } from "../sdk/build.ts";
import type { BenchRow } from "./run.ts";

export default async function sdkSizeBench(): Promise<BenchRow[]> {
  const minified = await bundleSdk();
  const bytes = gzipSync(minified).length;
  // holdfast/election bundled alone, with the client code it calls: what an app that
  // imports both ships (the client code once).
  const withElection = await bundleSdk({ entry: "election" });
  const both = gzipSync(`${minified}\n${withElection}`).length;
  return [
    {
      name: "SDK browser bundle, min+gzip (every export)",
      value: `${(bytes / 1024).toFixed(2)} KB (${bytes} B)`,
      goal: "≤ 4,096 B (the SDK's budget)",
      note: `${minified.length} B minified (esbuild --minify, ES2022, ESM); zlib gzip`,
    },
    {
      name: "SDK holdfast/election, min+gzip, on top of the browser bundle",
      value: `${both - bytes} B`,
      note: `leader election (campaign); ${withElection.length} B minified alone, client code included`,
    },
  ];
}
