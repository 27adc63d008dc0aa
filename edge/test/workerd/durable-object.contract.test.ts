/** The shared contract suites, unchanged, against the Durable Object backend inside workerd. */

import { env } from "cloudflare:workers";
import {
  runBackendContract,
  runBoundsContract,
  runHttpContract,
  runSizeContract,
  runWaitingContract,
} from "@holdfast/shared/contract";
import { createDurableObjectBackend } from "../../src/durable-object/backend.ts";

const make = () => createDurableObjectBackend(env.LOCKS);

runBackendContract("durable-object", make);
runWaitingContract("durable-object", make);
runHttpContract("durable-object", make);
runBoundsContract("durable-object", (bounds) => createDurableObjectBackend(env.LOCKS, bounds));
// Every change writes the key's state whole: five hundred holders keep the suite quick in workerd.
runSizeContract("durable-object", { holders: 500, waiters: 500 }, (bounds) =>
  createDurableObjectBackend(env.LOCKS, bounds),
);
