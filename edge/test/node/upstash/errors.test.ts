/** How the Upstash backend names the store's failures (edge/src/upstash/errors.ts). */
import { LockError } from "@holdfast/shared";
import { errors } from "@upstash/redis";
import { describe, expect, it } from "vitest";
import { toLockError } from "../../../src/upstash/errors.ts";

const lockId = "AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB";
const upstash = (message: string) => new errors.UpstashError(`${message}, command was: [["evalsha","${lockId}"]]`);

describe("Upstash errors as LockError codes", () => {
  it.each([
    [
      "a deadline",
      Object.assign(new Error("The operation was aborted due to timeout"), { name: "TimeoutError" }),
      "NetworkTimeout",
    ],
    ["a network failure after the client's retries", new TypeError("fetch failed"), "ServiceUnavailable"],
    ["Redis behind the REST API down", upstash("ERR redis unavailable: connect ECONNREFUSED"), "ServiceUnavailable"],
    ["the plan's quota", upstash("ERR max daily request limit exceeded"), "ServiceUnavailable"],
    ["a full database", upstash("OOM command not allowed when used memory > 'maxmemory'"), "ServiceUnavailable"],
    ["a proxy's error page", new errors.UpstashJSONParseError("<html>502</html>"), "ServiceUnavailable"],
    ["the service's credentials refused", upstash("Unauthorized"), "AuthFailed"],
    ["a script that fails", upstash("ERR user_script:12: Script attempted to access nonexistent global"), "Internal"],
    ["our own refusal", upstash("ERR holdfast: key id collision"), "Internal"],
    ["foreign data under the prefix", upstash("WRONGTYPE Operation against a key holding the wrong kind"), "Internal"],
  ])("maps %s", (_label, error, code) => {
    const mapped = toLockError(error);
    expect(mapped).toBeInstanceOf(LockError);
    expect(mapped.code).toBe(code);
    // The client's message carries the command it sent: its lockIds stay out of ours.
    expect(mapped.message).not.toContain(lockId);
    expect(String((mapped.cause as Error).message)).not.toContain(lockId);
  });
});
