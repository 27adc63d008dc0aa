/**
 * The lock rules of docs/design.md ("The rules, once") in PL/pgSQL: every function that runs
 * in Postgres, whole, in one file. `setupSchema` (migrate.ts) re-applies this file, under the
 * migrations' advisory lock, whenever its SHA-256 differs from the one the database last
 * applied; migrations create tables only. What runs in Postgres is what this file says.
 *
 * Every operation is one statement, `SELECT <p>op(…)`: the function locks the key's row
 * (`FOR UPDATE`), and only then reads the clock and the row, so under READ COMMITTED each
 * decision sees the latest committed state (a CTE or subquery would decide from the
 * statement's start-time snapshot and could double-grant). `{p}` is the configurable name
 * prefix (tables and functions).
 *
 * A row keeps its holders as jsonb beside the fence counter, which is a column that is never
 * reset: `[{t token, m 'x'|'s', p permits, f fence, a acquired, e expires, i idempotency
 * key, d granted TTL (with i)}]` in fence order (at most max_holders of them). The queue is
 * in tables (migration 3): `<p>waiters`, a row per queued request read in R8's order
 * through the index (key_id, priority DESC, seq), and `<p>callers`, a row per caller waiting
 * on one (the request and the retries joined to it) with its deadline; the row counts its
 * waiters in `waiting`. Every step reads and writes only the waiters it concerns (O(k log n)
 * for k of n), and still only under the row lock. The row's jsonb `waiters` is no longer
 * used (`adopt` moves what a previous release left there). Posted outcomes have a table of
 * their own. Replies are jsonb: `k` is 'g' granted, 'l' locked,
 * 'm' limit mismatch, 'i' idempotency mismatch, 'q' queued, 'x' gone, 'c' at a bound
 * (R9: `b` the bound, `x` its size, `r` the first holder's expiry or 0); `n` the store
 * time.
 *
 * Functions whose parameters changed keep their earlier signatures beside the new ones (an
 * overload, not a replacement), so that Workers still running the previous release keep
 * working while a deploy rolls out.
 */
import { MAX_CALLERS_PER_WAITER } from "@holdfast/shared";

export const FUNCTIONS = `
-- R1: the store's clock, read once per operation, after the row lock.
CREATE OR REPLACE FUNCTION {p}now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS
$$ SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;
---
-- R2: a holder is live while now < its expiry. Never touches the fence; the limit
-- goes with the last holder.
CREATE OR REPLACE FUNCTION {p}prune(r {p}locks, now_ms bigint) RETURNS {p}locks LANGUAGE plpgsql AS $$
BEGIN
  r.holders := coalesce((SELECT jsonb_agg(h ORDER BY (h->>'f')::bigint) FROM jsonb_array_elements(r.holders) h
                         WHERE (h->>'e')::bigint > now_ms), '[]'::jsonb);
  IF jsonb_array_length(r.holders) = 0 THEN r.lock_limit := NULL; END IF;
  RETURN r;
END $$;
---
-- R4 and R5: -1 for a limit mismatch, 0 when nothing blocks, otherwise the earliest
-- expiry among the blockers (the holders whose expiry could make room).
CREATE OR REPLACE FUNCTION {p}blocked_until(holders jsonb, held_limit integer, req_mode text, req_permits integer,
                                            req_limit integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  earliest bigint;
  earliest_exclusive bigint;
  used bigint;
BEGIN
  IF jsonb_array_length(holders) = 0 THEN RETURN 0; END IF;
  SELECT min((h->>'e')::bigint), sum((h->>'p')::bigint) INTO earliest, used FROM jsonb_array_elements(holders) h;
  IF req_mode = 'x' THEN RETURN earliest; END IF;
  SELECT min((h->>'e')::bigint) INTO earliest_exclusive FROM jsonb_array_elements(holders) h WHERE h->>'m' = 'x';
  IF earliest_exclusive IS NOT NULL THEN RETURN earliest_exclusive; END IF;
  IF held_limit IS DISTINCT FROM req_limit THEN RETURN -1; END IF;
  IF req_limit IS NULL OR used + req_permits <= req_limit THEN RETURN 0; END IF;
  RETURN earliest;
END $$;
---
-- R9: when the first holder expires (the earliest a key at its holder bound makes room).
CREATE OR REPLACE FUNCTION {p}earliest_expiry(holders jsonb) RETURNS bigint LANGUAGE sql AS
$$ SELECT min((h->>'e')::bigint) FROM jsonb_array_elements(holders) h $$;
---
-- R3 and R8: "the same request" as an earlier one, a holder or a queued original (the one
-- place the SQL decides it): mode, permits, TTL (when the earlier one kept it; a holder
-- granted before migration 2 did not) and, shared, the limit.
CREATE OR REPLACE FUNCTION {p}same_request(e_mode text, e_permits integer, e_ttl bigint, e_limit integer,
  p_mode text, p_permits integer, p_ttl bigint, p_limit integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS
$$ SELECT e_mode = p_mode AND e_permits = p_permits AND (e_ttl IS NULL OR e_ttl = p_ttl)
     AND (p_mode = 'x' OR e_limit IS NOT DISTINCT FROM p_limit) $$;
---
-- R6: the next fence; the limit is set only by a grant to a key without holders.
CREATE OR REPLACE FUNCTION {p}grant(INOUT r {p}locks, token text, req_mode text, req_permits integer, req_limit integer,
                                    ttl bigint, idem text, now_ms bigint, OUT holder jsonb) LANGUAGE plpgsql AS $$
BEGIN
  IF r.fence >= 999999999999999 THEN
    RAISE EXCEPTION 'holdfast: fence counter exhausted for this key' USING ERRCODE = 'HF002';
  END IF;
  IF jsonb_array_length(r.holders) = 0 THEN
    r.lock_limit := CASE WHEN req_mode = 's' THEN req_limit END;
  END IF;
  r.fence := r.fence + 1;
  holder := jsonb_build_object('t', token, 'm', req_mode, 'p', req_permits, 'f', r.fence, 'a', now_ms,
                               'e', now_ms + ttl, 'i', idem)
            || CASE WHEN idem IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('d', ttl) END;
  r.holders := r.holders || jsonb_build_array(holder);
END $$;
---
CREATE OR REPLACE FUNCTION {p}grant_reply(h jsonb, now_ms bigint) RETURNS jsonb LANGUAGE sql AS
$$ SELECT jsonb_build_object('k', 'g', 't', h->>'t', 'f', h->'f', 'a', h->'a', 'e', h->'e', 'n', now_ms) $$;
---
CREATE OR REPLACE FUNCTION {p}holder_by(holders jsonb, p_field text, p_value text) RETURNS jsonb LANGUAGE sql AS
$$ SELECT h FROM jsonb_array_elements(holders) h WHERE h->>p_field = p_value LIMIT 1 $$;
---
-- The functions that read the queue in order say SET enable_sort = off: the order is the
-- index's, and before the tables have statistics (a fresh deployment, a key that just grew)
-- the planner may otherwise read all of a key's waiters and sort them, O(n) for one.
---
-- A waiter's place in line, from 0, counted among the first 32 only: the place staggers the
-- waiters' re-checks (shared/src/waiting/pushed-waiter.ts), by at most 10 places' worth, so
-- a place past 32 answers 32 instead of counting a long queue.
CREATE OR REPLACE FUNCTION {p}place_of(p_key_id text, w_priority integer, w_seq bigint) RETURNS integer
LANGUAGE sql STABLE SET enable_sort = off AS
$$ SELECT count(*)::integer FROM (SELECT q.priority, q.seq FROM {p}waiters q WHERE q.key_id = p_key_id
                                   ORDER BY q.priority DESC, q.seq LIMIT 32) x
   WHERE x.priority > w_priority OR (x.priority = w_priority AND x.seq < w_seq) $$;
---
-- The waiter a caller waits with (its callers row is its ticket).
CREATE OR REPLACE FUNCTION {p}waiter_of_caller(p_key_id text, p_caller text) RETURNS {p}waiters
LANGUAGE sql STABLE AS
$$ SELECT w.* FROM {p}callers c JOIN {p}waiters w ON w.key_id = c.key_id AND w.token = c.waiter
   WHERE c.key_id = p_key_id AND c.caller = p_caller $$;
---
-- The head of the queue: R8, priority first, then arrival.
CREATE OR REPLACE FUNCTION {p}head_of(p_key_id text) RETURNS {p}waiters LANGUAGE sql STABLE SET enable_sort = off AS
$$ SELECT w.* FROM {p}waiters w WHERE w.key_id = p_key_id ORDER BY w.priority DESC, w.seq LIMIT 1 $$;
---
-- Moves waiters a previous release queued in the row's jsonb into the tables (migration 3
-- moved those queued before it; this takes any queued while a deploy rolled out).
CREATE OR REPLACE FUNCTION {p}adopt(r {p}locks) RETURNS {p}locks LANGUAGE plpgsql AS $$
BEGIN
  IF r.waiters = '[]'::jsonb THEN RETURN r; END IF;
  INSERT INTO {p}waiters (key_id, token, priority, seq, mode, permits, lim, ttl, idem)
    SELECT r.key_id, w->>'t', coalesce((w->>'pr')::integer, 0), (w->>'s')::bigint, w->>'m', (w->>'p')::integer,
           (w->>'l')::integer, (w->>'ttl')::bigint, w->>'i'
    FROM jsonb_array_elements(r.waiters) w
    ON CONFLICT DO NOTHING;
  INSERT INTO {p}callers (key_id, caller, waiter, deadline)
    SELECT r.key_id, c.key, w->>'t', c.value::bigint FROM jsonb_array_elements(r.waiters) w, jsonb_each(w->'c') c
    ON CONFLICT DO NOTHING;
  r.waiters := '[]'::jsonb;
  r.waiting := (SELECT count(*) FROM {p}waiters x WHERE x.key_id = r.key_id);
  UPDATE {p}locks SET waiters = r.waiters, waiting = r.waiting WHERE key_id = r.key_id;
  RETURN r;
END $$;
---
-- R8: serves the queue from its head while the rules grant it, in the same statement
-- as the release, extend, expiry or leave that made room (no barging). Callers past their
-- deadline are dropped. Returns the head's retry time (0: nothing blocks a waiter) and
-- the outcomes posted, [{c caller, o outcome}]; outcomes wait in <p>results for a minute
-- past their caller's deadline, for a caller whose notification was lost. R9: a head
-- that would take the key past max_holders waits for the first holder's expiry.
CREATE OR REPLACE FUNCTION {p}dispatch(INOUT r {p}locks, now_ms bigint, max_holders integer, OUT retry_at bigint,
                                       OUT notes jsonb)
LANGUAGE plpgsql SET enable_sort = off AS $$
DECLARE
  head {p}waiters;
  blocked bigint;
  g record;
  given jsonb;
  c record;
BEGIN
  retry_at := 0;
  notes := '[]';
  -- One pass down the index, from the head: each waiter served or dropped is deleted as the
  -- scan leaves it, so k of them cost k index steps (asking for the head anew each time
  -- would step over the entries this statement deleted, k² in all).
  FOR head IN SELECT * FROM {p}waiters w WHERE w.key_id = r.key_id ORDER BY w.priority DESC, w.seq LOOP
    DELETE FROM {p}callers x WHERE x.key_id = r.key_id AND x.waiter = head.token AND x.deadline <= now_ms;
    IF NOT EXISTS (SELECT 1 FROM {p}callers x WHERE x.key_id = r.key_id AND x.waiter = head.token) THEN
      DELETE FROM {p}waiters x WHERE x.key_id = r.key_id AND x.token = head.token;
      r.waiting := r.waiting - 1;
      CONTINUE;
    END IF;
    blocked := {p}blocked_until(r.holders, r.lock_limit, head.mode, head.permits, head.lim);
    IF blocked = 0 AND jsonb_array_length(r.holders) >= max_holders THEN blocked := {p}earliest_expiry(r.holders); END IF;
    IF blocked > 0 THEN
      retry_at := blocked;
      EXIT;
    END IF;
    EXIT WHEN blocked = 0 AND r.fence >= 999999999999999;
    IF blocked = 0 THEN
      SELECT * INTO g FROM {p}grant(r, head.token, head.mode, head.permits, head.lim, head.ttl, head.idem, now_ms);
      r := g.r;
      given := {p}grant_reply(g.holder, now_ms);
    ELSE
      given := jsonb_build_object('k', 'm', 'l', r.lock_limit, 'n', now_ms);
    END IF;
    FOR c IN DELETE FROM {p}callers x WHERE x.key_id = r.key_id AND x.waiter = head.token
             RETURNING x.caller, x.deadline LOOP
      INSERT INTO {p}results AS x (caller, key_id, outcome, keep_until)
        VALUES (c.caller, r.key_id, given, greatest(now_ms, c.deadline) + 60000)
        ON CONFLICT ON CONSTRAINT {p}results_pkey DO UPDATE SET outcome = EXCLUDED.outcome, keep_until = EXCLUDED.keep_until;
      notes := notes || jsonb_build_array(jsonb_build_object('c', c.caller, 'o', given));
    END LOOP;
    DELETE FROM {p}waiters x WHERE x.key_id = r.key_id AND x.token = head.token;
    r.waiting := r.waiting - 1;
  END LOOP;
  IF jsonb_array_length(notes) > 0 THEN
    DELETE FROM {p}results x WHERE x.key_id = (r).key_id AND x.keep_until <= now_ms;
  END IF;
END $$;
---
-- An outcome posted for a caller, answered as of now: a grant that expired before its
-- caller came for it is no grant. Read, not taken: a repeated check finds it again.
CREATE OR REPLACE FUNCTION {p}posted(r {p}locks, p_caller text, now_ms bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  outcome jsonb := (SELECT x.outcome FROM {p}results x WHERE x.caller = p_caller);
  h jsonb;
BEGIN
  IF outcome IS NULL THEN RETURN NULL; END IF;
  IF outcome->>'k' <> 'g' THEN RETURN outcome || jsonb_build_object('n', now_ms); END IF;
  h := {p}holder_by(r.holders, 't', outcome->>'t');
  IF h IS NULL THEN RETURN jsonb_build_object('k', 'l', 'n', now_ms, 'r', now_ms); END IF;
  RETURN {p}grant_reply(h, now_ms);
END $$;
---
-- Tells waiters, each on its own channel, what the queue did: '<retry> <caller>=<outcome>'
-- to each caller served and, with everyone (the head's retry time moved), '<retry>' to
-- the callers of the first 16 waiters. Only the head can be served next, and a statement
-- that serves it serves the compatible waiters behind it too and tells them; the others
-- learn the new time when they next check (as after any release). So a moved retry time
-- costs at most 16 waiters' notifications, not the whole queue's. Notifications go out
-- when the statement commits.
CREATE OR REPLACE FUNCTION {p}announce(r {p}locks, channels text, retry_at bigint, notes jsonb, everyone boolean)
RETURNS void LANGUAGE plpgsql SET enable_sort = off AS $$
DECLARE
  note jsonb;
  caller text;
BEGIN
  FOR note IN SELECT jsonb_array_elements(notes) LOOP
    PERFORM pg_notify(channels || (note->>'c'), retry_at || ' ' || (note->>'c') || '=' || (note->'o')::text);
  END LOOP;
  IF everyone THEN
    FOR caller IN SELECT c.caller FROM (SELECT w.token FROM {p}waiters w WHERE w.key_id = r.key_id
                                        ORDER BY w.priority DESC, w.seq LIMIT 16) q
                  JOIN {p}callers c ON c.key_id = r.key_id AND c.waiter = q.token LOOP
      PERFORM pg_notify(channels || caller, retry_at::text);
    END LOOP;
  END IF;
END $$;
---
-- Writes the row back only if the operation changed it: a statement that writes nothing
-- commits without waiting for the WAL to reach the disk, and holds the row lock shorter.
CREATE OR REPLACE FUNCTION {p}save(r {p}locks, locked {p}locks) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF r IS NOT DISTINCT FROM locked THEN RETURN; END IF;
  -- The answer may grant or advance the fence: it leaves only once the commit is flushed
  -- (and on any synchronous standby). A database or role whose default is 'off' or
  -- 'local' would answer first, and a crash or failover could re-issue fences; raised to
  -- 'on' for this transaction only.
  IF current_setting('synchronous_commit') IN ('off', 'local') THEN
    PERFORM set_config('synchronous_commit', 'on', true);
  END IF;
  UPDATE {p}locks SET fence = r.fence, lock_limit = r.lock_limit, holders = r.holders,
                      waiters = r.waiters, queue_seq = r.queue_seq, waiting = r.waiting
  WHERE key_id = r.key_id;
END $$;
---
-- The end of a release or an extend: the queue is served from its head (the key may
-- have room now), the row written back if it changed, and the waiters told.
CREATE OR REPLACE FUNCTION {p}serve_and_save(r {p}locks, locked {p}locks, now_ms bigint, channels text,
                                             everyone boolean, max_holders integer) RETURNS {p}locks
LANGUAGE plpgsql AS $$
DECLARE
  d record;
BEGIN
  SELECT * INTO d FROM {p}dispatch(r, now_ms, max_holders);
  PERFORM {p}save(d.r, locked);
  PERFORM {p}announce(d.r, channels, d.retry_at, d.notes, everyone);
  RETURN d.r;
END $$;
---
-- Locks the key's row for the rest of the statement; creates it (fence 0) if need be.
CREATE OR REPLACE FUNCTION {p}lock_row(p_key_id text, p_tenant text, p_key text) RETURNS {p}locks
LANGUAGE plpgsql AS $$
DECLARE
  r {p}locks;
BEGIN
  INSERT INTO {p}locks (key_id, tenant, lock_key) VALUES (p_key_id, p_tenant, p_key) ON CONFLICT (key_id) DO NOTHING;
  SELECT * INTO r FROM {p}locks WHERE key_id = p_key_id FOR UPDATE;
  IF r.tenant <> p_tenant OR r.lock_key <> p_key THEN
    RAISE EXCEPTION 'holdfast: key id collision: two keys map to one record' USING ERRCODE = 'HF001';
  END IF;
  RETURN {p}adopt(r);
END $$;
---
CREATE OR REPLACE FUNCTION {p}acquire(p_key_id text, p_tenant text, p_key text, p_token text, p_ttl bigint,
  p_mode text, p_permits integer, p_limit integer, p_idem text, p_priority integer, p_wait_ms bigint,
  p_channels text, p_max_holders integer, p_max_waiters integer) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r {p}locks := {p}lock_row(p_key_id, p_tenant, p_key);
  locked {p}locks := r;
  now_ms bigint := {p}now_ms();
  retry_at bigint;
  notes jsonb;
  reply jsonb;
  h jsonb;
  w {p}waiters;
  head {p}waiters;
  place integer;
  blocked bigint;
  behind boolean;
  d record;
  g record;
BEGIN
  r := {p}prune(r, now_ms);
  -- The expiry path: waiters whose blockers have gone are served before anyone new.
  SELECT * INTO d FROM {p}dispatch(r, now_ms, p_max_holders);
  r := d.r;
  retry_at := d.retry_at;
  notes := d.notes;
  <<decide>>
  BEGIN
    -- This very request, repeated.
    h := {p}holder_by(r.holders, 't', p_token);
    IF h IS NOT NULL THEN reply := {p}grant_reply(h, now_ms); EXIT decide; END IF;
    reply := {p}posted(r, p_token, now_ms);
    EXIT decide WHEN reply IS NOT NULL;
    w := {p}waiter_of_caller(r.key_id, p_token);
    IF w.token IS NOT NULL THEN
      reply := jsonb_build_object('k', 'q', 'n', now_ms, 'r', retry_at, 'rank', {p}place_of(r.key_id, w.priority, w.seq));
      EXIT decide;
    END IF;
    -- R3: an earlier grant answers if the request is the same. A queued original is
    -- joined by a waiting retry (one grant for both), and a retry that tries once is locked.
    IF p_idem IS NOT NULL THEN
      h := {p}holder_by(r.holders, 'i', p_idem);
      IF h IS NOT NULL THEN
        IF {p}same_request(h->>'m', (h->>'p')::integer, (h->>'d')::bigint, r.lock_limit, p_mode, p_permits, p_ttl, p_limit)
        THEN reply := {p}grant_reply(h, now_ms);
        ELSE reply := jsonb_build_object('k', 'i', 'n', now_ms);
        END IF;
        EXIT decide;
      END IF;
      SELECT * INTO w FROM {p}waiters x WHERE x.key_id = r.key_id AND x.idem = p_idem LIMIT 1;
      IF w.token IS NOT NULL THEN
        IF NOT {p}same_request(w.mode, w.permits, w.ttl, w.lim, p_mode, p_permits, p_ttl, p_limit) THEN
          reply := jsonb_build_object('k', 'i', 'n', now_ms);
        ELSIF p_wait_ms <= 0 THEN
          reply := jsonb_build_object('k', 'l', 'n', now_ms, 'r', now_ms);
        ELSIF (SELECT count(*) FROM {p}callers c WHERE c.key_id = r.key_id AND c.waiter = w.token
                 AND c.deadline > now_ms) >= ${MAX_CALLERS_PER_WAITER} THEN
          -- R9: a waiter takes a bounded number of retries.
          reply := jsonb_build_object('k', 'c', 'n', now_ms, 'b', 'callers', 'x', ${MAX_CALLERS_PER_WAITER}, 'r', 0);
        ELSE
          INSERT INTO {p}callers (key_id, caller, waiter, deadline) VALUES (r.key_id, p_token, w.token, now_ms + p_wait_ms);
          reply := jsonb_build_object('k', 'q', 'n', now_ms, 'r', retry_at, 'rank', {p}place_of(r.key_id, w.priority, w.seq));
        END IF;
        EXIT decide;
      END IF;
    END IF;
    -- R4 and R5, and R8's fairness: ahead of the queue only with a strictly higher priority.
    blocked := {p}blocked_until(r.holders, r.lock_limit, p_mode, p_permits, p_limit);
    IF blocked = -1 THEN
      reply := jsonb_build_object('k', 'm', 'n', now_ms, 'l', r.lock_limit);
      EXIT decide;
    END IF;
    head := {p}head_of(r.key_id);
    behind := head.token IS NOT NULL AND p_priority <= head.priority;
    -- R9: a key at its holder bound refuses whoever would go first; behind the queue, one waits its turn.
    IF blocked = 0 AND jsonb_array_length(r.holders) >= p_max_holders THEN
      IF NOT behind THEN
        reply := jsonb_build_object('k', 'c', 'n', now_ms, 'b', 'holders', 'x', p_max_holders,
                                    'r', {p}earliest_expiry(r.holders));
        EXIT decide;
      END IF;
      blocked := {p}earliest_expiry(r.holders);
    END IF;
    IF blocked = 0 AND NOT behind THEN
      SELECT * INTO g FROM {p}grant(r, p_token, p_mode, p_permits, p_limit, p_ttl, p_idem, now_ms);
      r := g.r;
      reply := {p}grant_reply(g.holder, now_ms);
      EXIT decide;
    END IF;
    IF p_wait_ms <= 0 THEN
      reply := jsonb_build_object('k', 'l', 'n', now_ms, 'r', CASE WHEN blocked > 0 THEN blocked ELSE now_ms END);
      EXIT decide;
    END IF;
    IF r.waiting >= p_max_waiters THEN
      reply := jsonb_build_object('k', 'c', 'n', now_ms, 'b', 'waiters', 'x', p_max_waiters, 'r', 0);
      EXIT decide;
    END IF;
    -- Queue: priority first, then arrival.
    r.queue_seq := r.queue_seq + 1;
    INSERT INTO {p}waiters (key_id, token, priority, seq, mode, permits, lim, ttl, idem)
      VALUES (r.key_id, p_token, p_priority, r.queue_seq, p_mode, p_permits, p_limit, p_ttl, p_idem);
    INSERT INTO {p}callers (key_id, caller, waiter, deadline) VALUES (r.key_id, p_token, p_token, now_ms + p_wait_ms);
    r.waiting := r.waiting + 1;
    IF NOT behind THEN retry_at := blocked; END IF;
    reply := jsonb_build_object('k', 'q', 'n', now_ms, 'r', retry_at,
                                'rank', CASE WHEN behind THEN {p}place_of(r.key_id, p_priority, r.queue_seq) ELSE 0 END);
  END decide;
  PERFORM {p}save(r, locked);
  PERFORM {p}announce(r, p_channels, retry_at, notes, false);
  RETURN reply;
END $$;
---
-- The start of R7's release and extend: the tenant's row, locked for the rest of the
-- statement and adopted (all NULL when the tenant has no such key: nothing to let go of).
CREATE OR REPLACE FUNCTION {p}held_row(p_key_id text, p_tenant text) RETURNS {p}locks
LANGUAGE plpgsql AS $$
DECLARE
  r {p}locks;
BEGIN
  SELECT * INTO r FROM {p}locks WHERE key_id = p_key_id AND tenant = p_tenant FOR UPDATE;
  IF NOT FOUND THEN RETURN NULL; END IF;
  RETURN {p}adopt(r);
END $$;
---
-- R7, release; then the queue is served in the same statement.
CREATE OR REPLACE FUNCTION {p}release(p_key_id text, p_tenant text, p_token text, p_channels text,
  p_max_holders integer) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r {p}locks;
  locked {p}locks;
  now_ms bigint;
  released boolean;
BEGIN
  r := {p}held_row(p_key_id, p_tenant);
  now_ms := {p}now_ms();
  IF r.key_id IS NULL THEN RETURN jsonb_build_object('k', 'n', 'n', now_ms); END IF;
  locked := r;
  r := {p}prune(r, now_ms);
  released := {p}holder_by(r.holders, 't', p_token) IS NOT NULL;
  r.holders := coalesce((SELECT jsonb_agg(h ORDER BY (h->>'f')::bigint) FROM jsonb_array_elements(r.holders) h
                         WHERE h->>'t' <> p_token), '[]'::jsonb);
  IF jsonb_array_length(r.holders) = 0 THEN r.lock_limit := NULL; END IF;
  PERFORM {p}serve_and_save(r, locked, now_ms, p_channels, false, p_max_holders);
  RETURN jsonb_build_object('k', CASE WHEN released THEN 'r' ELSE 'n' END, 'n', now_ms);
END $$;
---
-- R7, extend; a shortened lease moves the head's retry time: every waiter is told.
CREATE OR REPLACE FUNCTION {p}extend(p_key_id text, p_tenant text, p_token text, p_ttl bigint, p_channels text,
  p_max_holders integer) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r {p}locks;
  locked {p}locks;
  now_ms bigint;
  place integer;
BEGIN
  r := {p}held_row(p_key_id, p_tenant);
  now_ms := {p}now_ms();
  IF r.key_id IS NULL THEN RETURN jsonb_build_object('k', 'n', 'n', now_ms); END IF;
  locked := r;
  r := {p}prune(r, now_ms);
  SELECT (x.n - 1)::integer INTO place FROM jsonb_array_elements(r.holders) WITH ORDINALITY x(h, n)
    WHERE x.h->>'t' = p_token;
  IF place IS NOT NULL THEN
    r.holders := jsonb_set(r.holders, ARRAY[place::text, 'e'], to_jsonb(now_ms + p_ttl));
  END IF;
  PERFORM {p}serve_and_save(r, locked, now_ms, p_channels, place IS NOT NULL, p_max_holders);
  IF place IS NULL THEN RETURN jsonb_build_object('k', 'n', 'n', now_ms); END IF;
  RETURN jsonb_build_object('k', 'e', 'n', now_ms, 'e', now_ms + p_ttl);
END $$;
---
-- Owns and lookup read the row without locking it: they change nothing.
CREATE OR REPLACE FUNCTION {p}owns(p_key_id text, p_tenant text, p_token text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r {p}locks;
  found_row boolean;
  now_ms bigint;
  h jsonb;
BEGIN
  SELECT * INTO r FROM {p}locks WHERE key_id = p_key_id AND tenant = p_tenant;
  found_row := FOUND;
  now_ms := {p}now_ms();
  IF found_row THEN h := {p}holder_by(({p}prune(r, now_ms)).holders, 't', p_token); END IF;
  IF h IS NULL THEN RETURN jsonb_build_object('k', 'n', 'n', now_ms); END IF;
  RETURN jsonb_build_object('k', 'o', 'n', now_ms, 'key', r.lock_key, 'h', h);
END $$;
---
CREATE OR REPLACE FUNCTION {p}lookup(p_key_id text, p_tenant text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r {p}locks;
  found_row boolean;
  now_ms bigint;
BEGIN
  SELECT * INTO r FROM {p}locks WHERE key_id = p_key_id AND tenant = p_tenant;
  found_row := FOUND;
  now_ms := {p}now_ms();
  IF NOT found_row THEN RETURN jsonb_build_object('n', now_ms, 'f', 0, 'l', NULL, 'h', '[]'::jsonb); END IF;
  r := {p}prune(r, now_ms);
  RETURN jsonb_build_object('n', now_ms, 'f', r.fence, 'l', r.lock_limit, 'h', r.holders);
END $$;
---
-- A waiter asks where it stands (after subscribing, at its blocker's expiry), or leaves.
CREATE OR REPLACE FUNCTION {p}check(p_key_id text, p_tenant text, p_key text, p_caller text, p_leave boolean,
  p_channels text, p_max_holders integer) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r {p}locks := {p}lock_row(p_key_id, p_tenant, p_key);
  locked {p}locks := r;
  now_ms bigint := {p}now_ms();
  retry_at bigint;
  notes jsonb;
  d record;
  reply jsonb;
  w {p}waiters;
  everyone boolean := false;
BEGIN
  r := {p}prune(r, now_ms);
  SELECT * INTO d FROM {p}dispatch(r, now_ms, p_max_holders);
  r := d.r;
  retry_at := d.retry_at;
  notes := d.notes;
  <<decide>>
  BEGIN
    reply := {p}posted(r, p_caller, now_ms);
    EXIT decide WHEN reply IS NOT NULL;
    w := {p}waiter_of_caller(r.key_id, p_caller);
    IF w.token IS NULL THEN reply := jsonb_build_object('k', 'x', 'n', now_ms); EXIT decide; END IF;
    IF NOT p_leave THEN
      reply := jsonb_build_object('k', 'q', 'n', now_ms, 'r', retry_at, 'rank', {p}place_of(r.key_id, w.priority, w.seq));
      EXIT decide;
    END IF;
    DELETE FROM {p}callers c WHERE c.key_id = r.key_id AND c.caller = p_caller;
    IF NOT EXISTS (SELECT 1 FROM {p}callers c WHERE c.key_id = r.key_id AND c.waiter = w.token) THEN
      DELETE FROM {p}waiters x WHERE x.key_id = r.key_id AND x.token = w.token;
      r.waiting := r.waiting - 1;
      -- A head that leaves may let the compatible waiters behind it through at once.
      SELECT * INTO d FROM {p}dispatch(r, now_ms, p_max_holders);
      r := d.r;
      retry_at := d.retry_at;
      notes := notes || d.notes;
      everyone := true;
    END IF;
    reply := jsonb_build_object('k', 'x', 'n', now_ms);
  END decide;
  PERFORM {p}save(r, locked);
  PERFORM {p}announce(r, p_channels, retry_at, notes, everyone);
  RETURN reply;
END $$;
`;
