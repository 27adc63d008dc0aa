/** Uncontended acquire+release pairs through the HTTP app on the memory backend (no network). */
import { createApp, createMemoryBackend, staticTokens } from "@holdfast/shared";
import type { BenchRow } from "./run.ts";

export default async function memoryBench(): Promise<BenchRow[]> {
  const app = createApp({
    backend: createMemoryBackend(),
    auth: staticTokens([{ token: "bench", tenant: "bench", scopes: ["lock"] }]),
  });
  const headers = { authorization: "Bearer bench", "content-type": "application/json" };
  const post = (path: string, body: object) =>
    Promise.resolve(app.request(path, { method: "POST", headers, body: JSON.stringify(body) })).then((r) => r.json());
  const pairs = 5_000;
  for (let i = 0; i < 500; i++) {
    const grant = (await post("/v1/locks/acquire", { key: `warm:${i}` })) as { lockId: string };
    await post("/v1/locks/release", { lockId: grant.lockId });
  }
  const started = performance.now();
  for (let i = 0; i < pairs; i++) {
    const grant = (await post("/v1/locks/acquire", { key: `k:${i % 64}` })) as { lockId: string };
    await post("/v1/locks/release", { lockId: grant.lockId });
  }
  const seconds = (performance.now() - started) / 1000;
  return [
    {
      name: "uncontended acquire+release pairs/s (memory, in-process app.request)",
      value: `${Math.round(pairs / seconds)}`,
      note: `${pairs} pairs`,
    },
  ];
}
