/**
 * A subscription to one channel over Upstash's REST `/subscribe` stream (server-sent
 * events: `data: subscribe,<channel>,<count>` once subscribed, then
 * `data: message,<channel>,<text>`). Written on fetch rather than the client's
 * Subscriber because a waiter must know when its stream is confirmed (only then can it
 * miss nothing) and when it ends (then it falls back to asking the store).
 */
import { channelSignals } from "@holdfast/shared";

export interface Subscription {
  /** True once Redis has confirmed the subscription; false if the stream ended first. */
  ready: Promise<boolean>;
  /** Resolves when the stream ends or fails, for whatever reason. */
  ended: Promise<void>;
  close(): void;
}

export function subscribe(
  url: string,
  token: string,
  channel: string,
  onMessage: (text: string) => void,
): Subscription {
  const controller = new AbortController();
  const { ready, confirm, ended, finish } = channelSignals();
  const handle = (line: string) => {
    if (!line.startsWith("data: ")) return;
    const data = line.slice(6);
    const first = data.indexOf(",");
    const second = data.indexOf(",", first + 1);
    if (first < 0 || second < 0) return;
    const type = data.slice(0, first);
    if (type === "subscribe") confirm(true);
    else if (type === "message") onMessage(data.slice(second + 1));
  };
  void read(`${url}/subscribe/${encodeURIComponent(channel)}`, token, controller.signal, handle)
    .catch(() => undefined)
    .finally(finish);
  return { ready, ended, close: () => controller.abort() };
}

async function read(url: string, token: string, signal: AbortSignal, handle: (line: string) => void): Promise<void> {
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", "content-type": "application/json" },
    body: "[]",
    signal,
  });
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    return;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        handle(buffer.slice(0, newline).replace(/\r$/, ""));
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf("\n");
      }
    }
  } finally {
    reader.releaseLock();
  }
}
