/**
 * The Upstash REST stand-in (local/standins/upstash-rest.ts), driven by the official
 * client `@upstash/redis` against the real Redis on 127.0.0.1:6379, plus a throwaway
 * redis-server for the outage cases. Raw fetches cover what the client cannot send.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:net";
import { Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstashStandin, type UpstashStandin } from "../../local/standins/upstash-rest.ts";

const TOKEN = "standin-test-token";
const prefix = `upstash-standin-test:${randomUUID()}:`;
const key = (name: string) => `${prefix}${name}`;

let standin: UpstashStandin;
/** Default options: base64 responses, automatic deserialization, auto-pipelining. */
let redis: Redis;
/** Values exactly as Redis returned them. */
let raw: Redis;
/** Direct Redis access, to check what the stand-in did. */
let direct: IORedis;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `check` is true, polling; fails after `ms`. */
async function until(check: () => Promise<boolean> | boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${standin.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** This stand-in's Redis connections in `role` (it names them upstash-standin:PORT:ROLE), as CLIENT LIST lines. */
async function standinClients(role: "blocking" | "subscriber"): Promise<string[]> {
  const port = new URL(standin.url).port;
  const list = String(await direct.call("CLIENT", "LIST"));
  return list.split("\n").filter((line) => line.includes(` name=upstash-standin:${port}:${role} `));
}

/** How many of this stand-in's dedicated connections Redis shows blocked (flag b) in `command`. */
async function blockedClients(command: string): Promise<number> {
  const lines = await standinClients("blocking");
  return lines.filter((line) => / flags=\S*b/.test(line) && line.includes(` cmd=${command} `)).length;
}

beforeAll(async () => {
  standin = await startUpstashStandin({ token: TOKEN });
  redis = new Redis({ url: standin.url, token: TOKEN, enableTelemetry: false });
  raw = new Redis({ url: standin.url, token: TOKEN, enableTelemetry: false, automaticDeserialization: false });
  direct = new IORedis("redis://127.0.0.1:6379", { lazyConnect: true });
  await direct.connect();
});

afterAll(async () => {
  if (direct) {
    const keys = await direct.keys(`${prefix}*`);
    if (keys.length > 0) await direct.del(...keys);
    direct.disconnect();
  }
  await standin?.close();
});

describe("commands through the official client", () => {
  it("round-trips a non-ASCII and a binary-ish string byte for byte", async () => {
    const text = "héllo wörld ✓ 日本語 🎉";
    const binaryish = "\u0000\u0001\u0002\u007f\u0080\u00ff line\r\nbreak \t \ufeff end";
    await raw.set(key("text"), text);
    await raw.set(key("binary"), binaryish);
    expect(await raw.get(key("text"))).toBe(text);
    expect(await raw.get(key("binary"))).toBe(binaryish);
    // Redis holds the UTF-8 bytes, not base64 or an escaped form.
    expect(await direct.getBuffer(key("text"))).toEqual(Buffer.from(text, "utf8"));
    expect(await direct.getBuffer(key("binary"))).toEqual(Buffer.from(binaryish, "utf8"));
  });

  it("answers plain UTF-8 text when the client does not ask for base64", async () => {
    const plain = new Redis({ url: standin.url, token: TOKEN, enableTelemetry: false, responseEncoding: false });
    await raw.set(key("plain"), "ünï");
    expect(await plain.get(key("plain"))).toBe("ünï");
    const body = await (await post("/", ["get", key("plain")])).json();
    expect(body).toEqual({ result: "ünï" });
    const encoded = await (await post("/", ["get", key("plain")], { "Upstash-Encoding": "base64" })).json();
    expect(encoded).toEqual({ result: Buffer.from("ünï").toString("base64") });
  });

  it("keeps HGETALL a flat array on the wire", async () => {
    await redis.hset(key("hash"), { a: "1", b: "two" });
    const flat = await raw.hgetall(key("hash"));
    expect(Array.isArray(flat)).toBe(true);
    expect(flat).toEqual(expect.arrayContaining(["a", "1", "b", "two"]));
    expect(flat).toHaveLength(4);
    // The default client builds its object from that flat array (and parses "1" as JSON).
    expect(await redis.hgetall(key("hash"))).toEqual({ a: 1, b: "two" });
  });

  it("answers nil as null", async () => {
    expect(await redis.get(key("missing"))).toBeNull();
    expect(await redis.hget(key("hash-missing"), "f")).toBeNull();
    await raw.set(key("present"), "x");
    expect(await raw.mget(key("present"), key("missing"))).toEqual(["x", null]);
    expect(await (await post("/", ["get", key("missing")])).json()).toEqual({ result: null });
  });

  it("serves auto-pipelined commands (several awaited in one tick) as one /pipeline request", async () => {
    const paths: string[] = [];
    const counting = new Redis({ url: standin.url, token: TOKEN, enableTelemetry: false });
    counting.use((request, next) => {
      paths.push((request.path ?? []).join("/"));
      return next(request);
    });
    const results = await Promise.all([
      counting.set(key("ap-a"), "1"),
      counting.set(key("ap-b"), "2"),
      counting.incr(key("ap-c")),
      counting.incr(key("ap-c")),
    ]);
    expect(results).toEqual(["OK", "OK", 1, 2]);
    expect(paths).toEqual(["pipeline"]);
  });

  it("serves an explicit pipeline, with each command's error in place", async () => {
    await raw.set(key("p-text"), "not a number");
    const results = await raw
      .pipeline()
      .set(key("p-a"), "v")
      .get(key("p-a"))
      .incr(key("p-text"))
      .get(key("p-missing"))
      .exec({ keepErrors: true });
    expect(results.map((entry) => entry.result)).toEqual(["OK", "v", undefined, null]);
    expect(results[2]?.error).toMatch(/not an integer/);
    await expect(raw.pipeline().incr(key("p-text")).exec()).rejects.toThrow(/not an integer/);
  });

  it("runs redis.multi() atomically: no other client's command lands in between", async () => {
    await direct.set(key("tx"), "0");
    const tx = redis.multi();
    for (let i = 0; i < 200; i++) tx.incr(key("tx"));
    // Concurrent writers through the stand-in and directly.
    const others = Array.from({ length: 20 }, (_, i) =>
      i % 2 ? redis.incrby(key("tx"), 1000) : direct.incrby(key("tx"), 1000),
    );
    const [results] = await Promise.all([tx.exec<number[]>(), ...others]);
    // Consecutive values: nothing ran between the transaction's INCRs.
    const first = results[0] as number;
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => first + i));
    expect(Number(await direct.get(key("tx")))).toBe(200 + 20 * 1000);
  });

  it("runs EVAL and EVALSHA, and a NOSCRIPT error names NOSCRIPT", async () => {
    // A nonce makes the script's sha1 one that Redis has certainly never loaded.
    const script = `-- ${randomUUID()}\nreturn {KEYS[1], ARGV[1], 42}`;
    const sha = createHash("sha1").update(script).digest("hex");
    await expect(raw.evalsha(sha, [key("k")], ["v"])).rejects.toThrow(/NOSCRIPT/);
    expect(await raw.eval(script, [key("k")], ["v"])).toEqual([key("k"), "v", 42]);
    expect(await raw.evalsha(sha, [key("k")], ["v"])).toEqual([key("k"), "v", 42]);
    // The client's Script: EVALSHA first, EVAL after NOSCRIPT.
    const fresh = raw.createScript(`-- ${randomUUID()}\nreturn ARGV[1]`);
    expect(await fresh.exec([], ["hello"])).toBe("hello");
  });

  it("rejects a command that Redis answers with an error, with Redis's text and HTTP 400", async () => {
    await raw.set(key("str"), "abc");
    await expect(redis.incr(key("str"))).rejects.toThrow(/ERR value is not an integer/);
    await expect(raw.exec(["INCR", key("str")])).rejects.toThrow(/ERR value is not an integer/);
    const response = await post("/", ["incr", key("str")]);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "ERR value is not an integer or out of range" });
  });

  it("rejects a wrong or missing token with 401 Unauthorized", async () => {
    const wrong = new Redis({ url: standin.url, token: "not-the-token", enableTelemetry: false });
    await expect(wrong.get(key("x"))).rejects.toThrow(/Unauthorized/);
    const missing = await fetch(`${standin.url}/`, { method: "POST", body: '["ping"]' });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: "Unauthorized" });
  });

  it("answers 404 for unknown routes and 400 for bad JSON, and sends a sync token", async () => {
    const unknown = await post("/nope", ["ping"]);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toHaveProperty("error");
    const bad = await post("/", "[not json");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^ERR /);
    const first = (await post("/", ["ping"])).headers.get("upstash-sync-token");
    const second = (await post("/", ["ping"], { "upstash-sync-token": first ?? "" })).headers.get("upstash-sync-token");
    expect(first).toBeTruthy();
    expect(second).not.toBe(first);
  });
});

describe("blocking commands", () => {
  it("holds a raw BLPOP open until an LPUSH from another request wakes it, without delaying others", async () => {
    let settled = false;
    // redis.exec is the client's path for arbitrary commands (POST /, never auto-pipelined).
    const blpop = raw.exec<[string, string] | null>(["BLPOP", key("queue"), 10]).finally(() => {
      settled = true;
    });
    await until(async () => (await blockedClients("blpop")) === 1);

    const started = performance.now();
    await raw.set(key("bystander"), "here");
    expect(await raw.get(key("bystander"))).toBe("here");
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(settled).toBe(false);

    expect(await raw.lpush(key("queue"), "job-1")).toBe(1);
    expect(await blpop).toEqual([key("queue"), "job-1"]);
  }, 15_000);

  it("wakes clients blocked on one key in arrival order", async () => {
    const first = raw.exec<[string, string]>(["BLPOP", key("fifo"), 10]);
    await until(async () => (await blockedClients("blpop")) === 1);
    const second = raw.exec<[string, string]>(["BLPOP", key("fifo"), 10]);
    await until(async () => (await blockedClients("blpop")) === 2);
    await raw.rpush(key("fifo"), "a", "b");
    expect(await first).toEqual([key("fifo"), "a"]);
    expect(await second).toEqual([key("fifo"), "b"]);
  }, 15_000);

  it("times out a BLPOP with null, and runs a pipeline holding one on a connection of its own", async () => {
    expect(await raw.exec(["BLPOP", key("never"), "0.1"])).toBeNull();
    const pipeline = post("/pipeline", [
      ["BLPOP", key("never"), "0.5"],
      ["ECHO", "after"],
    ]);
    await until(async () => (await blockedClients("blpop")) === 1);
    expect(await raw.echo("meanwhile")).toBe("meanwhile");
    expect(await (await pipeline).json()).toEqual([{ result: null }, { result: "after" }]);
  }, 15_000);

  it("unblocks the Redis side of a BLPOP whose HTTP client went away", async () => {
    const controller = new AbortController();
    const abandoned = fetch(`${standin.url}/`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(["BLPOP", key("abandoned"), 10]),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    await until(async () => (await blockedClients("blpop")) === 1);
    controller.abort();
    expect(await abandoned).toBeInstanceOf(Error);
    await until(async () => (await blockedClients("blpop")) === 0);
    // The element is left for a client still waiting, not taken by the departed one.
    await raw.rpush(key("abandoned"), "kept");
    expect(await raw.lrange(key("abandoned"), 0, -1)).toEqual(["kept"]);
  }, 15_000);
});

describe("pub/sub over server-sent events", () => {
  it("delivers a PUBLISH to redis.subscribe([channel]), and unsubscribes when the stream ends", async () => {
    const channel = key("channel");
    const subscriber = redis.subscribe<{ n: number }>([channel]);
    const subscribed = new Promise<number>((resolve) => subscriber.on("subscribe", resolve));
    const received = new Promise<{ channel: string; message: { n: number } }>((resolve) =>
      subscriber.on("message", resolve),
    );
    expect(await subscribed).toBe(1);
    expect(await redis.publish(channel, { n: 7 })).toBe(1);
    expect(await received).toEqual({ channel, message: { n: 7 } });

    await subscriber.unsubscribe();
    await until(async () => {
      const [, count] = (await direct.pubsub("NUMSUB", channel)) as [string, number];
      return count === 0;
    });
    // Every stream shares the one subscriber connection.
    expect(await standinClients("subscriber")).toHaveLength(1);
  }, 10_000);

  it("delivers pattern messages to redis.psubscribe, message text raw", async () => {
    const pattern = key("news.*");
    const patternsBefore = Number(await direct.pubsub("NUMPAT"));
    const subscriber = raw.psubscribe<string>([pattern]);
    const subscribed = new Promise<number>((resolve) => subscriber.on("psubscribe", resolve));
    const received = new Promise<unknown>((resolve) => subscriber.on("pmessage", resolve));
    expect(await subscribed).toBe(1);
    await direct.publish(key("news.tech"), "ünï, with a comma");
    expect(await received).toEqual({ pattern, channel: key("news.tech"), message: "ünï, with a comma" });
    await subscriber.unsubscribe();
    await until(async () => Number(await direct.pubsub("NUMPAT")) === patternsBefore);
  }, 10_000);
});

describe("test hooks", () => {
  it("counts the commands it ran, by name", async () => {
    standin.resetStats();
    await raw.set(key("s"), "1");
    await raw.get(key("s"));
    await raw.pipeline().incr(key("s")).incr(key("s")).get(key("s")).exec();
    await raw.multi().incr(key("s")).get(key("s")).exec();
    expect(standin.stats()).toEqual({ commands: 7, byCommand: { SET: 1, GET: 3, INCR: 3 } });
    standin.resetStats();
    expect(standin.stats()).toEqual({ commands: 0, byCommand: {} });
  });

  it("drops a response after running it: the client's retry runs the command a second time", async () => {
    const counter = key("dropped");
    standin.resetStats();
    standin.dropNextResponse((commands) =>
      commands.some((command) => String(command[0]).toLowerCase() === "incr" && command[1] === counter),
    );
    // The client retries a failed fetch (5 times by default): Redis sees the INCR twice.
    expect(await redis.incr(counter)).toBe(2);
    expect(await direct.get(counter)).toBe("2");
    expect(standin.stats().byCommand.INCR).toBe(2);
  }, 10_000);
});

describe("when Redis is not there", () => {
  it("refuses to start against a closed port, naming Redis and the URL", async () => {
    const started = performance.now();
    await expect(startUpstashStandin({ redisUrl: "redis://127.0.0.1:1", token: TOKEN })).rejects.toThrow(
      /Redis at redis:\/\/127\.0\.0\.1:1/,
    );
    expect(performance.now() - started).toBeLessThan(5_000);
  }, 10_000);

  describe("a Redis that goes away and comes back", () => {
    let port: number;
    let server: ChildProcess | undefined;
    let outage: UpstashStandin | undefined;

    const startRedis = async () => {
      server = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        {
          stdio: "ignore",
        },
      );
      // A fresh probe each time: a lazy ioredis client refuses a second connect().
      await until(async () => {
        const probe = new IORedis(port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null });
        probe.on("error", () => undefined);
        const up = await probe.connect().then(
          () => true,
          () => false,
        );
        probe.disconnect();
        return up;
      });
    };
    const stopRedis = async (signal: NodeJS.Signals = "SIGKILL") => {
      if (!server || server.exitCode !== null) return;
      const exited = once(server, "exit");
      server.kill(signal);
      await exited;
    };

    beforeAll(async () => {
      port = await freePort();
      await startRedis();
      outage = await startUpstashStandin({ redisUrl: `redis://127.0.0.1:${port}`, token: TOKEN });
    });
    afterAll(async () => {
      server?.kill("SIGCONT");
      await outage?.close();
      await stopRedis();
    });

    it("answers 503 promptly while Redis is down, and recovers when it returns", async () => {
      const client = new Redis({ url: outage?.url ?? "", token: TOKEN, enableTelemetry: false });
      expect(await client.set("k", "before")).toBe("OK");
      await stopRedis();

      const started = performance.now();
      await expect(client.get("k")).rejects.toThrow(/redis unavailable/);
      const response = await fetch(`${outage?.url}/`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: '["ping"]',
      });
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: string }).error).toMatch(/^ERR redis unavailable: /);
      expect(performance.now() - started).toBeLessThan(1_000);

      await startRedis();
      await until(() =>
        client.set("k", "after").then(
          () => true,
          () => false,
        ),
      );
      expect(await client.get("k")).toBe("after");
    }, 20_000);

    it("leaves a request pending while Redis is paused, and answers it on resume", async () => {
      const client = new Redis({ url: outage?.url ?? "", token: TOKEN, enableTelemetry: false });
      server?.kill("SIGSTOP");
      let answered = false;
      const pending = client.incr("paused").finally(() => {
        answered = true;
      });
      await sleep(500);
      expect(answered).toBe(false);
      server?.kill("SIGCONT");
      expect(await pending).toBe(1);
    }, 10_000);

    it("answers 503 for a command in flight when Redis dies, and does not re-send it on reconnect", async () => {
      const client = new Redis({ url: outage?.url ?? "", token: TOKEN, enableTelemetry: false });
      expect(await client.set("inflight", "0")).toBe("OK");
      // Paused, Redis holds the INCR unanswered; killed, it never answers it.
      server?.kill("SIGSTOP");
      const inflight = client.incr("inflight").catch((error: unknown) => error);
      await sleep(200);
      await stopRedis();
      expect(String(await inflight)).toMatch(/redis unavailable/);
      await startRedis();
      await until(() =>
        client.get("inflight").then(
          () => true,
          () => false,
        ),
      );
      // A fresh Redis (no persistence): the INCR was not re-sent to it after reconnecting.
      expect(await client.get("inflight")).toBeNull();
    }, 15_000);

    it("ends its SSE streams when Redis goes away, and subscribes anew once it is back", async () => {
      const url = outage?.url ?? "";
      const stream = await fetch(`${url}/subscribe/restart`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, accept: "text/event-stream" },
        body: "[]",
      });
      const reader = stream.body?.getReader();
      if (!reader) throw new Error("no stream");
      expect(new TextDecoder().decode((await reader.read()).value)).toContain("data: subscribe,restart,");
      await stopRedis();
      // Messages published while the connection is down would be lost: the stream ends, so
      // that its client knows to resubscribe and ask again.
      while (!(await reader.read()).done) {}
      await startRedis();
      const client = new Redis({ url, token: TOKEN, enableTelemetry: false });
      // Until the stand-in's connections are back, a subscription is refused with a 503.
      let again: ReadableStreamDefaultReader<Uint8Array> | undefined;
      await until(async () => {
        const retry = await fetch(`${url}/subscribe/restart`, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, accept: "text/event-stream" },
          body: "[]",
        });
        if (retry.status !== 200) await retry.body?.cancel();
        else again = retry.body?.getReader();
        return retry.status === 200;
      });
      if (!again) throw new Error("no stream");
      const decoder = new TextDecoder();
      let received = decoder.decode((await again.read()).value);
      expect(received).toContain("data: subscribe,restart,");
      // The stand-in's command connection comes back on its own schedule, maybe after the subscriber's.
      await until(async () => (await client.ping().catch(() => null)) === "PONG");
      expect(await client.publish("restart", "back")).toBe(1);
      while (!received.includes("data: message,restart,")) received += decoder.decode((await again.read()).value);
      expect(received).toMatch(/data: message,restart,"?back"?\n/);
      await again.cancel();
    }, 15_000);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}
