/**
 * The proof's default transport: one POST over node:http with keep-alive, classified as
 * `call` does. At a million grants the client, not the server, was the bottleneck with
 * fetch (undici's streams, a transferable AbortSignal per request, its GC): this costs a
 * fraction of it, so the run measures the store. A request given up on (its own deadline,
 * or the workload's deliberate abort) has its socket destroyed: the outcome is unknown.
 */
import { Agent, request } from "node:http";
import type { Answer } from "./http.ts";

/**
 * How long a socket may sit idle in the pool. A server closes idle keep-alive connections
 * on its own schedule (workerd sends no Keep-Alive hint, which Node's agent would follow),
 * and a request written on a socket the server is closing gets a reset: an unknown
 * outcome that says nothing about the store (one round of 35,000 grants on Durable
 * Objects: 13 resets before this, none after). Sockets idle longer than this are closed by
 * the client first, and the most recently used socket is taken first (lifo), so the
 * others age out instead of each being kept barely alive.
 */
const IDLE_SOCKET_MS = 1_000;

// One pool per origin for the life of the process; idle sockets do not keep it alive.
const agents = new Map<string, Agent>();
const agentFor = (origin: string) => {
  let agent = agents.get(origin);
  if (!agent) {
    agent = new Agent({
      keepAlive: true,
      maxSockets: Number.POSITIVE_INFINITY,
      scheduling: "lifo",
      timeout: IDLE_SOCKET_MS,
    });
    agents.set(origin, agent);
  }
  return agent;
};

const unknown = (status = 0): Answer => ({ outcome: "unknown", status, body: {} });

export function leanPost(url: string, token: string, body: object, giveUpAfterMs: number): Promise<Answer> {
  const target = new URL(url);
  const payload = JSON.stringify(body);
  return new Promise((resolve) => {
    let done = false;
    const finish = (answer: Answer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(answer);
    };
    const req = request(
      {
        agent: agentFor(target.origin),
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", () => finish(unknown()));
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
          } catch {
            // A body that is not JSON (a proxy's page): the status still classifies it.
          }
          const outcome = status >= 200 && status < 300 ? "ok" : status >= 500 ? "unknown" : "fail";
          finish({ outcome, status, body: parsed });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish(unknown());
    }, giveUpAfterMs);
    req.on("error", () => finish(unknown()));
    req.end(payload);
  });
}
