/**
 * Migration 3: a key's queue moves out of its row's jsonb `waiters` array into tables, so
 * that queueing, leaving and serving k waiters cost O(k log n) index steps instead of
 * copying, re-sorting and rewriting the whole queue under the row lock.
 *
 * - `<p>waiters`: a row per queued request, ordered for rule 8 by the index
 *   (key_id, priority DESC, seq); `idem` is indexed for retries that join the original.
 * - `<p>callers`: a row per caller waiting on a request (the request itself and the
 *   retries joined to it), with its deadline, indexed by the waiter it waits on.
 * - `<p>locks.waiting`: how many waiter rows the key has (rule 9's bound), kept by the
 *   statement that adds or removes them, under the row lock.
 *
 * The jsonb `waiters` column stays (functions of the previous release name it while a
 * deploy rolls out) but is no longer used: the waiters it holds now are moved into the
 * tables here, each key under its row lock, so a deploy mid-wait loses nobody; anything a
 * previous release still queues there before the new functions are applied is moved by
 * those functions (`adopt`) the next time they lock the row.
 */
export const V3_QUEUE_TABLES = `
CREATE TABLE IF NOT EXISTS {p}waiters (
  key_id   text NOT NULL,
  token    text NOT NULL,
  priority integer NOT NULL,
  seq      bigint NOT NULL,
  mode     text NOT NULL,
  permits  integer NOT NULL,
  lim      integer,
  ttl      bigint NOT NULL,
  idem     text,
  PRIMARY KEY (key_id, token)
);
---
CREATE INDEX IF NOT EXISTS {p}waiters_queue ON {p}waiters (key_id, priority DESC, seq);
---
CREATE INDEX IF NOT EXISTS {p}waiters_idem ON {p}waiters (key_id, idem) WHERE idem IS NOT NULL;
---
CREATE TABLE IF NOT EXISTS {p}callers (
  key_id   text NOT NULL,
  caller   text NOT NULL,
  waiter   text NOT NULL,
  deadline bigint NOT NULL,
  PRIMARY KEY (caller, key_id)
);
---
CREATE INDEX IF NOT EXISTS {p}callers_by_waiter ON {p}callers (key_id, waiter);
---
ALTER TABLE {p}locks ADD COLUMN IF NOT EXISTS waiting integer NOT NULL DEFAULT 0;
---
DO $move$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT key_id, waiters FROM {p}locks WHERE waiters <> '[]'::jsonb FOR UPDATE LOOP
    INSERT INTO {p}waiters (key_id, token, priority, seq, mode, permits, lim, ttl, idem)
      SELECT r.key_id, w->>'t', coalesce((w->>'pr')::integer, 0), (w->>'s')::bigint, w->>'m', (w->>'p')::integer,
             (w->>'l')::integer, (w->>'ttl')::bigint, w->>'i'
      FROM jsonb_array_elements(r.waiters) w
      ON CONFLICT DO NOTHING;
    INSERT INTO {p}callers (key_id, caller, waiter, deadline)
      SELECT r.key_id, c.key, w->>'t', c.value::bigint
      FROM jsonb_array_elements(r.waiters) w, jsonb_each(w->'c') c
      ON CONFLICT DO NOTHING;
    UPDATE {p}locks SET waiters = '[]'::jsonb,
                        waiting = (SELECT count(*) FROM {p}waiters x WHERE x.key_id = r.key_id)
      WHERE key_id = r.key_id;
  END LOOP;
END $move$;
`;
