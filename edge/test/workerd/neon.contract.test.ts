/**
 * The shared contract suites, unchanged, on the Neon backend inside workerd: the Worker
 * runtime's fetch and WebSocket, through the stand-in (edge/test/stores-setup.ts), to real
 * Postgres. The suite applies the migrations itself, under a prefix of its own.
 */
import { runBackendContract, runBoundsContract, runHttpContract, runWaitingContract } from "@holdfast/shared/contract";
import { inject } from "vitest";
import { createNeonBackend } from "../../src/neon/backend.ts";
import { setupSchema } from "../../src/neon/schema/migrate.ts";

const make = async (bounds = {}) => {
  const { connectionString } = inject("neon");
  const prefix = `hfwd_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}_`;
  await setupSchema({ connectionString, prefix, localProxy: true });
  return createNeonBackend({ connectionString, prefix, localProxy: true, bounds });
};

runBackendContract("neon in workerd", make);
runWaitingContract("neon in workerd", make);
runHttpContract("neon in workerd", make);
runBoundsContract("neon in workerd", make);
