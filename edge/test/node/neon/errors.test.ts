/** How the Neon backend names the database's failures (edge/src/neon/errors.ts), by SQLSTATE. */
import { LockError } from "@holdfast/shared";
import { NeonDbError } from "@neondatabase/serverless";
import { describe, expect, it } from "vitest";
import { toLockError } from "../../../src/neon/errors.ts";

const sqlError = (code: string, message = "failed") => Object.assign(new NeonDbError(message), { code });
const fetchFailed = (name: string) =>
  Object.assign(new NeonDbError(`Error connecting to database: ${name}`), {
    sourceError: Object.assign(new Error("x"), { name }),
  });

describe("Neon errors as LockError codes", () => {
  it.each([
    [
      "the statement's deadline (the driver wraps the fetch's TimeoutError)",
      fetchFailed("TimeoutError"),
      "NetworkTimeout",
    ],
    ["a statement cancelled by statement_timeout", sqlError("57014"), "NetworkTimeout"],
    ["an unreachable proxy", fetchFailed("TypeError"), "ServiceUnavailable"],
    ["a connection failure", sqlError("08006"), "ServiceUnavailable"],
    ["pg_terminate_backend", sqlError("57P01"), "ServiceUnavailable"],
    ["too many connections", sqlError("53300"), "ServiceUnavailable"],
    ["a lost connection (Neon sends no code)", sqlError(""), "ServiceUnavailable"],
    ["the proxy's 5xx", new NeonDbError("Server error (HTTP status 502): bad gateway"), "ServiceUnavailable"],
    ["refused credentials", sqlError("28P01"), "AuthFailed"],
    ["a key id collision", sqlError("HF001", "holdfast: key id collision"), "Internal"],
    ["any other SQL error of ours", sqlError("23505"), "Internal"],
  ])("maps %s", (_label, error, code) => {
    const mapped = toLockError(error);
    expect(mapped).toBeInstanceOf(LockError);
    expect(mapped.code).toBe(code);
  });

  it("says to run the migration when the tables or functions are missing", () => {
    for (const code of ["42P01", "42883"]) {
      expect(toLockError(sqlError(code))).toMatchObject({
        code: "ServiceUnavailable",
        message: expect.stringContaining("npm run db:migrate"),
      });
    }
  });
});
