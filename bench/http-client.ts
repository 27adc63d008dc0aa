/** A lean keep-alive JSON client for benchmarks (node:http has less overhead than fetch). */
import { Agent, request } from "node:http";

export interface JsonClient {
  post(path: string, body: object): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): void;
}

/**
 * `maxSockets`: each request the server holds open (a wait) keeps one socket. Without
 * `keepAlive` every request opens its own connection: the same cost for each.
 */
export function jsonClient(baseUrl: string, token: string, { maxSockets = 256, keepAlive = true } = {}): JsonClient {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive, maxSockets });
  return {
    post(path, body) {
      const payload = JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            path,
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
            res.on("end", () => {
              try {
                resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
              } catch (error) {
                reject(error);
              }
            });
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}
