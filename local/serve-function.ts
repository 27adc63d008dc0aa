/**
 * Serves the exported `holdfast` function the way Cloud Functions runs it: registered with
 * Google's Functions Framework (the server of Cloud Run functions), which parses the body
 * and hands the function an Express request with `rawBody`. The Firestore client inside
 * reaches the emulator through FIRESTORE_EMULATOR_HOST.
 */
import type { Server } from "node:http";
import { type HttpFunction, http } from "@google-cloud/functions-framework";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { answerClientErrorsInJson } from "../node/src/client-errors.ts";

/** `entry`: the module that exports `holdfast` (the source, or the bundle that `npm run build:functions` deploys). */
export async function serveFunction(
  port: number,
  hostname = "127.0.0.1",
  entry = new URL("../functions/src/index.ts", import.meta.url).href,
): Promise<{ server: Server; url: string }> {
  const { holdfast } = (await import(entry)) as { holdfast: unknown };
  // The framework types rawBody as optional (a GET has none); the function handles that.
  http("holdfast", holdfast as unknown as HttpFunction);
  const server = getTestServer("holdfast");
  answerClientErrorsInJson(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => resolve());
  });
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  return { server, url: `http://${hostname}:${actualPort}` };
}
