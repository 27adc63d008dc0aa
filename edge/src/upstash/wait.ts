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
local posted = postedResult(caller)
if posted then return finish({ 5, now, posted }) end
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
  sha: "4035e8771fa8113b7bbbf9784a9a449df298d555",
};

/** How long after the blocker's expiry a waiter behind the head asks, per place in line. */
const STAGGER_MS = 15;
const MAX_STAGGER_MS = 150;
/** The shortest pause between two checks of one waiter. */
const MIN_RECHECK_MS = 5;
/** A waiter whose stream fails asks the store at most this often while it resubscribes. */
const RESUBSCRIBE_MS = 250;

export async function acquireQueued(
  ctx: UpstashContext,
  request: AcquireRequest,
  { waitMs, signal }: QueuedWaitOptions,
): Promise<AcquireResult> {
  const deadline = Date.now() + waitMs;
  const first = await runAcquire(ctx, request, waitMs);
  if (!first.queued) return first.result;
  return new Waiter(ctx, request, deadline, signal).run(first);
}

type Queued = Extract<AcquireReply, { queued: true }>;

class Waiter {
  private readonly keys;
  private delivered: AcquireResult | undefined;
  private wakeAtLocalMs = 0;
  private rank = 0;
  private nudge: (() => void) | undefined;
  private current: Subscription | undefined;
  private streamDown = false;
  private offsetMs = 0;

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
    const onAbort = () => this.nudge?.();
    this.signal.addEventListener("abort", onAbort);
    let stream = this.open();
    try {
      let status = await this.checkOnceSubscribed(stream);
      for (;;) {
        if (!status.queued) return status.result;
        if (this.delivered) return this.delivered;
        if (this.signal.aborted || Date.now() >= this.deadline) return await this.leave();
        const timedOut = await this.sleepUntil(Math.min(this.deadline, this.wakeAtLocalMs));
        if (this.delivered || this.signal.aborted || Date.now() >= this.deadline) continue;
        if (this.streamDown) {
          // Without a stream nothing is pushed: resubscribe, and meanwhile ask the store.
          stream.close();
          await this.sleepUntil(Math.min(this.deadline, Date.now() + RESUBSCRIBE_MS));
          stream = this.open();
          status = await this.checkOnceSubscribed(stream);
        } else if (timedOut) {
          status = await this.check(false);
        }
      }
    } finally {
      stream.close();
      this.signal.removeEventListener("abort", onAbort);
    }
  }

  /** Once subscribed nothing can be missed; one check covers what came before. */
  private async checkOnceSubscribed(stream: Subscription): Promise<AcquireReply> {
    await this.until(stream.ready);
    return this.check(false);
  }

  /** Leaves the queue; a handoff that came first is kept (the route gives it back if no one wants it). */
  private async leave(): Promise<AcquireResult> {
    const status = await this.check(true);
    return status.queued ? this.locked(status.serverTimeMs) : status.result;
  }

  private open(): Subscription {
    const stream = subscribe(this.ctx.url, this.ctx.token, `${this.keys.channels}${this.request.token}`, (text) =>
      this.hear(text),
    );
    this.current = stream;
    this.streamDown = false;
    void stream.ended.then(() => {
      if (this.current !== stream) return; // a stream this waiter already replaced
      this.streamDown = true;
      this.nudge?.();
    });
    return stream;
  }

  /** An announcement: `<retryAt> caller=outcome …`. */
  private hear(text: string): void {
    const [retryAt, ...notes] = text.split(" ");
    const mine = notes.find((note) => note.startsWith(`${this.request.token}=`));
    if (mine) this.delivered = parseOutcome(mine.slice(this.request.token.length + 1));
    else if (retryAt && Number(retryAt) > 0) this.wakeAtLocalMs = this.localTimeOf(Number(retryAt));
    this.nudge?.();
  }

  private async check(leave: boolean): Promise<AcquireReply> {
    const reply = await runScript(this.ctx.redis, CHECK, this.keys.all, [
      this.keys.channels,
      this.request.tenant,
      this.request.key,
      this.request.token,
      leave ? 1 : 0,
    ]);
    const status = decodeAcquireReply(reply);
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

  /** Sleeps until `atMs` or a nudge (an announcement, an abort, a stream end); true if the time came. */
  private sleepUntil(atMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(true), Math.max(0, atMs - Date.now()));
      const done = (timedOut: boolean) => {
        clearTimeout(timer);
        this.nudge = undefined;
        resolve(timedOut);
      };
      this.nudge = () => done(false);
    });
  }

  /** Waits for `promise`, but no longer than the deadline or an abort. */
  private async until(promise: Promise<unknown>): Promise<void> {
    let settled = false;
    void promise.then(() => {
      settled = true;
      this.nudge?.();
    });
    while (!settled && !this.signal.aborted && Date.now() < this.deadline) await this.sleepUntil(this.deadline);
  }

  private locked(serverTimeMs: number): AcquireResult {
    return { ok: false, reason: "locked", serverTimeMs, retryAtMs: serverTimeMs };
  }
}
