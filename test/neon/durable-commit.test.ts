/**
 * A Neon answer that grants leaves only once its commit is durable (hardening item 6): on
 * a database or role whose `synchronous_commit` is 'off' or 'local', the lock functions
 * raise it to 'on' for the transaction that writes. A step that writes nothing is left as
 * it is. Checked through the functions themselves, in an open transaction, on a session
 * whose default is 'off'.
 */
import { keyIdOf, newToken } from "@holdfast/shared";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { neonFixture, POSTGRES_URL } from "./fixture.ts";

describe("Neon: durable commits", () => {
  let fixture: Awaited<ReturnType<typeof neonFixture>>;
  let client: pg.Client;
  beforeAll(async () => {
    fixture = await neonFixture();
    client = new pg.Client({ connectionString: POSTGRES_URL, options: "-c synchronous_commit=off" });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await fixture?.close();
  });

  /** Runs `acquire` in a transaction, and reads the setting its commit would use. */
  async function acquireIn(key: string): Promise<{ kind: string; setting: string }> {
    const keyId = await keyIdOf("t", key);
    await client.query("BEGIN");
    try {
      const { rows } = await client.query(
        `SELECT ${fixture.prefix}acquire($1, 't', $2, $3, 10000, 'x', 1, NULL, NULL, 0, 0, '', 100, 100) AS r`,
        [keyId, key, newToken()],
      );
      const setting = (await client.query("SHOW synchronous_commit")).rows[0].synchronous_commit as string;
      return { kind: rows[0].r.k as string, setting };
    } finally {
      await client.query("COMMIT");
    }
  }

  it("raises synchronous_commit to on for a step that grants, and leaves a step that writes nothing alone", async () => {
    expect((await client.query("SHOW synchronous_commit")).rows[0].synchronous_commit).toBe("off");
    const key = `durable:${newToken()}`;
    expect(await acquireIn(key)).toEqual({ kind: "g", setting: "on" });
    expect(await acquireIn(key)).toEqual({ kind: "l", setting: "off" });
    // Transaction-local: the session's own default is untouched.
    expect((await client.query("SHOW synchronous_commit")).rows[0].synchronous_commit).toBe("off");
  });
});
