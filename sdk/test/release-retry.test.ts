/**
 * A release that fails for a passing reason (a 503, a 429 from a server that still limits
 * releases, a lost answer) is sent again a few times, soon: given up, it would leave the
 * key held until its TTL. A release the server answers is never sent twice.
 */
import { expect, it } from "vitest";
import { createClient, isLockError } from "../src/index.ts";
import { fakeService, granted, notHeld, type Reply, released } from "./support/fake-service.ts";

function service(releases: Reply[]) {
  const fake = fakeService((path) => {
    if (path.endsWith("/acquire")) return granted(30_000);
    return releases.shift() ?? released();
  });
  const client = createClient({ url: "http://fake", token: "t", fetch: fake.fetch });
  const sentReleases = () => fake.calls.filter((call) => call.path.endsWith("/release")).length;
  return { client, sentReleases };
}

const failure = (status: number, code: string): Reply => ({
  status,
  body: { ok: false, error: { code, message: code }, serverTimeMs: Date.now() },
  headers: status === 429 ? { "retry-after": "1" } : {},
});

it("sends a release refused with 503 or 429 again, and reports the answer that came", async () => {
  const { client, sentReleases } = service([failure(503, "ServiceUnavailable"), failure(429, "RateLimited")]);
  const lock = await client.acquire({ key: "k" });
  if (!lock.ok) throw new Error("not granted");
  expect(await lock.release()).toEqual({ ok: true });
  expect(sentReleases()).toBe(3);
});

it("counts a retry's 'not held' as its own release when the first answer was lost", async () => {
  const { client, sentReleases } = service([failure(503, "ServiceUnavailable"), notHeld()]);
  const lock = await client.acquire({ key: "k" });
  if (!lock.ok) throw new Error("not granted");
  expect(await lock.release()).toEqual({ ok: true });
  expect(sentReleases()).toBe(2);
});

it("gives up after a few tries and throws the last error", async () => {
  const { client, sentReleases } = service(Array.from({ length: 10 }, () => failure(503, "ServiceUnavailable")));
  const lock = await client.acquire({ key: "k" });
  if (!lock.ok) throw new Error("not granted");
  const error = await lock.release().catch((caught: unknown) => caught);
  expect(isLockError(error, "ServiceUnavailable")).toBe(true);
  expect(sentReleases()).toBe(4);
});

it("never sends again a release the server answered, nor one refused for good", async () => {
  const answered = service([notHeld()]);
  const lock = await answered.client.acquire({ key: "k" });
  if (!lock.ok) throw new Error("not granted");
  expect(await lock.release()).toEqual({ ok: false });
  expect(answered.sentReleases()).toBe(1);

  const refused = service([failure(400, "InvalidArgument")]);
  const other = await refused.client.acquire({ key: "k" });
  if (!other.ok) throw new Error("not granted");
  expect(isLockError(await other.release().catch((caught: unknown) => caught), "InvalidArgument")).toBe(true);
  expect(refused.sentReleases()).toBe(1);
});
