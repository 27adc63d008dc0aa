/**
 * A Worker's waiter parks on the waiting room (wait-room.ts) instead of opening a
 * connection of its own: one RPC whose answer is a stream of events, read for as long as
 * the waiter waits. The room is picked by the channel's hash, which spreads waiters
 * evenly over the shards.
 */
import { channelSignals } from "@holdfast/shared";
import type { Listen } from "./listen.ts";
import { type NeonWaitRoom, WAIT_ROOM_SHARDS, type WaitRoomTarget } from "./wait-room.ts";

export function waitRoomListen(rooms: DurableObjectNamespace<NeonWaitRoom>, target: WaitRoomTarget): Listen {
  return (channel, onPayload) => {
    const { ready, confirm, ended, finish } = channelSignals();
    const room = rooms.get(rooms.idFromName(`neon-wait-room-${shardOf(channel)}`));
    let reader: ReadableStreamDefaultReader<string> | undefined;
    let closed = false;
    void (async () => {
      try {
        const stream = (await room.listen(target, channel)) as ReadableStream<Uint8Array>;
        reader = stream.pipeThrough(new TextDecoderStream()).getReader();
        if (closed) void room.leave(channel).catch(() => undefined);
        let pending = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          pending += value;
          let newline = pending.indexOf("\n");
          while (newline >= 0) {
            const event = JSON.parse(pending.slice(0, newline)) as boolean | string;
            pending = pending.slice(newline + 1);
            if (typeof event === "string") onPayload(event);
            else confirm(event);
            newline = pending.indexOf("\n");
          }
        }
      } catch {
        // The room is unreachable or the stream broke: the waiter asks the store and comes back.
      } finally {
        finish();
      }
    })();
    return {
      ready,
      ended,
      // The room ends the stream (cancelling it here would abort the room's writes midway).
      close: () => {
        closed = true;
        if (reader) void room.leave(channel).catch(() => undefined);
      },
    };
  };
}

/** FNV-1a over the channel's characters, so that one channel always meets one room. */
function shardOf(channel: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < channel.length; i++) hash = Math.imul(hash ^ channel.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % WAIT_ROOM_SHARDS;
}
