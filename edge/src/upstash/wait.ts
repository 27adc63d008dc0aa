/**
 * Fair server-side waiting (Backend.acquireQueued), pushed rather than polled. The
 * acquire script queues the request in Redis (priority, then arrival). The waiter then
 * subscribes to its own channel and, once subscribed, asks once more (a handoff may
 * have come between): from then on the script that serves it (a release, an expiry, an
 * extend, a leave) tells it on that channel, and an extend or a departing head re-times
 * every waiter.
 * So a waiter spends three commands (queue, subscribe, check) on a handoff, and one more
 * only when its blocker expires without a release (at the blocker's expiry, the head
 * first and the others a little later) or its stream breaks.
 */
import type { AcquireRequest, AcquireResult, QueuedWaitOptions } from "@holdfast/shared";
import { type AcquireReply, decodeAcquireReply, runAcquire } from "./acquire.ts";
import type { UpstashContext } from "./context.ts";
import { runRelease } from "./release.ts";
import { parseOutcome } from "./reply.ts";
import { RULES } from "./rules.lua.ts";
import { type LuaScript, runScript } from "./script.ts";
import { type Subscription, subscribe } from "./subscribe.ts";

/** Serves the queue (the expiry path), then tells one caller where it stands; or lets it leave. */
const BODY = `
local channels, tenant, key, caller, leave = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if collides(tenant, key) then return redis.error_reply('ERR holdfast: key id collision') end
local now = clock()
local s = loadState(now)
local retryAt, notes = dispatch(s, now, tenant, key)
local function finish(reply, everyone) saveState(s); announce(channels, retryAt, notes, everyone); return reply end
local posted = postedReply(s, caller, now)
if posted then return finish(posted) end
local entry = redis.call('HGET', C, caller)
if not entry then return finish({ 6, now }) end
local waiterId = string.match(entry, '^([^|]+)|')
if leave == '1' then
  redis.call('HDEL', C, caller)
  if #liveCallers(waiterId, now) == 0 then
    local value = redis.call('HGET', W, waiterId)
    if value then removeWaiter(waiterId, decodeWaiter(value).member) end
    -- A head that leaves may let the compatible waiters behind it through at once.
    local more
    retryAt, more = dispatch(s, now, tenant, key)
    for _, note in ipairs(more) do notes[#notes + 1] = note end
  end
  return finish({ 6, now }, true)
end
return finish({ 4, now, retryAt, rankOf(waiterId) })
`;

export const CHECK: LuaScript = {
  name: "check",
  source: RULES + BODY,
  sha: "ef47439400f6ed56559c77af2b44e049b7e92777",
};

/** How long after the blocker's expiry a waiter behind the head asks, per place in line. */
const STAGGER_MS = 15;
const MAX_STAGGER_MS = 150;
/** The shortest pause between two checks of one waiter. */
const MIN_RECHECK_MS = 5;
/** How long a subscription may take to be confirmed before the waiter stops relying on it. */
const SUBSCRIBE_TIMEOUT_MS = 2_000;
/** A waiter whose stream fails resubscribes (and asks the store) after this, doubling up to the max. */
const RESUBSCRIBE_MS = 250;
const MAX_RESUBSCRIBE_MS = 4_000;

export async function acquireQueued(
  ctx: UpstashContext,
  request: AcquireRequest,
  { waitMs, signal, waitUntil }: QueuedWaitOptions,
): Promise<AcquireResult> {
  const deadline = Date.now() + waitMs;
  try {
    const first = await runAcquire(ctx, request, waitMs);
    if (!first.queued) return first.result;
    return await new Waiter(ctx, request, deadline, signal).run(first);
  } catch (error) {
    // Redis may have queued the request, or served it, before the failure: leave, best effort,
    // so that the entry does not hold back the waiters behind it until its deadline.
    const leaving = leaveAfterFailure(ctx, request);
    waitUntil?.(leaving);
    throw error;
  }
}

async function leaveAfterFailure(ctx: UpstashContext, request: AcquireRequest): Promise<void> {
  try {
    const status = await runCheck(ctx, request, true);
    // A grant nobody will hear of; kept only if a retry may ask for it by its idempotency key.
    if (!status.queued && status.result.ok && request.idempotencyKey === undefined) {
      await runRelease(ctx, { tenant: request.tenant, keyId: request.keyId, token: status.result.token });
    }
  } catch {
    // The store is still failing: the entry expires with its deadline.
  }
}

async function runCheck(ctx: UpstashContext, request: AcquireRequest, leave: boolean): Promise<AcquireReply> {
  const keys = ctx.keysOf(request.keyId);
  const reply = await runScript(ctx.redis, CHECK, keys.all, [
    keys.channels,
    request.tenant,
    request.key,
    request.token,
    leave ? 1 : 0,
  ]);
  return decodeAcquireReply(reply);
}

type Queued = Extract<AcquireReply, { queued: true }>;

/**
 * One waiting request. Every event (a push, a re-timing, the stream's end, an abort)
 * only records what happened and wakes the loop, which looks at all of it again: a wake
 * that comes while the loop is busy is kept for its next sleep, never lost.
 */
class Waiter {
  private readonly keys;
  private delivered: AcquireResult | undefined;
  private wakeAtLocalMs = 0;
  private rank = 0;
  private offsetMs = 0;
  private current: Subscription | undefined;
  private streamDown = false;
  private resubscribeMs = RESUBSCRIBE_MS;
  private woken = false;
  private nudge: (() => void) | undefined;
  private readonly wake = () => {
    this.woken = true;
    this.nudge?.();
  };

  constructor(
    private readonly ctx: UpstashContext,
    private readonly request: AcquireRequest,
    private readonly deadline: number,
    private readonly signal: AbortSignal,
  ) {
    this.keys = ctx.keysOf(request.keyId);
  }

  async run(first: Queued): Promise<AcquireResult> {
    this.learn(first);
    this.signal.addEventListener("abort", this.wake);
    let stream = this.open();
    try {
      let status = await this.checkOnceSubscribed(stream);
      for (;;) {
        if (!status.queued) return status.result;
        if (this.delivered) return this.delivered;
        if (this.signal.aborted || Date.now() >= this.deadline) return await this.leave();
        if (this.streamDown) {
          // Without a stream nothing is pushed: resubscribe after a pause, then ask the store.
          this.current = undefined; // its end, which closing it causes, must not cut the pause short
          stream.close();
          await this.sleepUntil(Math.min(this.deadline, Date.now() + this.resubscribeMs));
          this.resubscribeMs = Math.min(this.resubscribeMs * 2, MAX_RESUBSCRIBE_MS);
          if (this.delivered || this.signal.aborted || Date.now() >= this.deadline) continue;
          stream = this.open();
          status = await this.checkOnceSubscribed(stream);
          continue;
        }
        const timedOut = await this.sleepUntil(Math.min(this.deadline, this.wakeAtLocalMs));
        if (timedOut && !this.delivered && !this.streamDown && Date.now() < this.deadline) {
          status = await this.check(false);
        }
      }
    } finally {
      stream.close();
      this.signal.removeEventListener("abort", this.wake);
    }
  }

  /** Once subscribed nothing can be missed; one check covers what came before. */
  private async checkOnceSubscribed(stream: Subscription): Promise<AcquireReply> {
    const subscribed = await this.until(stream.ready, Math.min(this.deadline, Date.now() + SUBSCRIBE_TIMEOUT_MS));
    if (subscribed) this.resubscribeMs = RESUBSCRIBE_MS;
    else this.streamDown = true;
    return this.check(false);
  }

  /** Leaves the queue; a handoff that came first is kept (the route gives it back if no one wants it). */
  private async leave(): Promise<AcquireResult> {
    const status = await this.check(true);
    return status.queued ? this.locked(status.serverTimeMs) : status.result;
  }

  private open(): Subscription {
    const channel = `${this.keys.channels}${this.request.token}`;
    const stream = subscribe(this.ctx.url, this.ctx.token, channel, (text) => this.hear(text));
    this.current = stream;
    this.streamDown = false;
    void stream.ended.then(() => {
      if (this.current !== stream) return; // a stream this waiter already replaced
      this.streamDown = true;
      this.wake();
    });
    return stream;
  }

  /** A push on this waiter's channel: `<retryAt> <token>=<outcome>`, or `<retryAt>` to re-time. */
  private hear(text: string): void {
    const [retryAt, note] = text.split(" ");
    const prefix = `${this.request.token}=`;
    if (note?.startsWith(prefix)) this.delivered = parseOutcome(note.slice(prefix.length));
    else if (Number(retryAt) > 0) this.wakeAtLocalMs = this.localTimeOf(Number(retryAt));
    this.wake();
  }

  private async check(leave: boolean): Promise<AcquireReply> {
    const status = await runCheck(this.ctx, this.request, leave);
    if (status.queued) this.learn(status);
    return status;
  }

  private learn(status: Queued): void {
    this.rank = status.rank;
    this.offsetMs = status.serverTimeMs - Date.now();
    const wakeAt = status.retryAtMs > 0 ? this.localTimeOf(status.retryAtMs) : this.deadline;
    // Two clocks never agree exactly: a blocker not yet expired in Redis is asked about again a little later.
    this.wakeAtLocalMs = Math.max(wakeAt, Date.now() + MIN_RECHECK_MS);
  }

  /** A store time on this machine's clock, staggered by place in line so that the head asks first. */
  private localTimeOf(storeTimeMs: number): number {
    return storeTimeMs - this.offsetMs + 1 + Math.min(MAX_STAGGER_MS, this.rank * STAGGER_MS);
  }

  /** Sleeps until `atMs` or a wake (kept if it came while awake); true if the time came. */
  private sleepUntil(atMs: number): Promise<boolean> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve(false);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(true), Math.max(0, atMs - Date.now()));
      const done = (timedOut: boolean) => {
        clearTimeout(timer);
        this.nudge = undefined;
        this.woken = false;
        resolve(timedOut);
      };
      this.nudge = () => done(false);
    });
  }

  /** The value of `ready` if it settles before `atMs` (and no abort comes first); false otherwise. */
  private async until(ready: Promise<boolean>, atMs: number): Promise<boolean> {
    let value: boolean | undefined;
    void ready.then((settled) => {
      value = settled;
      this.wake();
    });
    while (value === undefined && !this.signal.aborted && Date.now() < atMs) await this.sleepUntil(atMs);
    return value === true;
  }

  private locked(serverTimeMs: number): AcquireResult {
    return { ok: false, reason: "locked", serverTimeMs, retryAtMs: serverTimeMs };
  }
}
