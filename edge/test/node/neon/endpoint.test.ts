/**
 * Neon's pooled endpoint (`-pooler`, PgBouncer in transaction mode) never delivers a
 * notification to a LISTEN: waiters listen on the direct endpoint instead (endpoint.ts).
 */
import { describe, expect, it } from "vitest";
import { isPooled, listenEndpoint } from "../../../src/neon/endpoint.ts";

describe("the endpoint a waiter listens on", () => {
  it.each([
    [
      "postgresql://alex:AbC123dEf@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/dbname?sslmode=require",
      "postgresql://alex:AbC123dEf@ep-cool-darkness-123456.us-east-2.aws.neon.tech/dbname?sslmode=require",
    ],
    [
      "postgres://u:p@ep-x-pooler.c-2.eu-central-1.aws.neon.tech:5432/neondb",
      "postgres://u:p@ep-x.c-2.eu-central-1.aws.neon.tech:5432/neondb",
    ],
  ])("is the direct endpoint for the pooled %s", (pooled, direct) => {
    expect(isPooled(pooled)).toBe(true);
    expect(listenEndpoint(pooled)).toBe(direct);
  });

  it.each([
    "postgresql://alex:AbC123dEf@ep-cool-darkness-123456.us-east-2.aws.neon.tech/dbname?sslmode=require",
    "postgres://postgres@127.0.0.1:5432/test",
    // Only the endpoint's own label says "pooled"; elsewhere in the host it is a name like any other.
    "postgres://u@db.my-pooler.example.com/db",
    "postgres://u@pooler-ep.example.com/db",
  ])("is the given endpoint for %s", (direct) => {
    expect(isPooled(direct)).toBe(false);
    expect(listenEndpoint(direct)).toBe(direct);
  });
});
