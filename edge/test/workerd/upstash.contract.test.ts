/**
 * The shared contract suites, unchanged, on the Upstash backend inside workerd: the
 * Worker runtime's fetch, through the stand-in (edge/test/upstash-setup.ts), to real Redis.
 */
import { runBackendContract, runBoundsContract, runHttpContract, runWaitingContract } from "@holdfast/shared/contract";
import { inject } from "vitest";
import { createUpstashBackend } from "../../src/upstash/backend.ts";

const make = (bounds = {}) => {
  const { url, token } = inject("upstash");
  return createUpstashBackend({ url, token, prefix: `workerd-test-${crypto.randomUUID()}`, bounds });
};

runBackendContract("upstash in workerd", make);
runWaitingContract("upstash in workerd", make);
runHttpContract("upstash in workerd", make);
runBoundsContract("upstash in workerd", make);
