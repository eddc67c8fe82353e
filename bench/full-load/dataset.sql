-- The full-load benchmark's source data: generate_series and a fixed seed, nothing from outside, so every
-- run on the same PostgreSQL major version builds the same rows (random()'s generator changed in 15).
--
-- Scale: run `SET bench.scale = '4'` in the same session first; without it the scale is 1 (about 400 MB of
-- tables: heap + TOAST, indexes not counted). Sizes grow linearly: 5 is about 2 GB, 12 about 5 GB.
-- By hand: psql -d bench -c "SET bench.scale = '5'" -f bench/full-load/dataset.sql
--
-- Then run VACUUM (FREEZE, ANALYZE) outside a transaction, so the first reader of the rows does not pay
-- for setting their hint bits.

SELECT set_config('bench.scale', coalesce(nullif(current_setting('bench.scale', true), ''), '1'), false);
SELECT setseed(0.4242);

-- Wide: about 1.1 kB a row of text, jsonb and bytea that compress poorly (md5 hex, sha256 bytes); one row in
-- 25 carries an 8 kB bytea, which the toaster cannot compress and stores out of line.
CREATE TABLE wide (
  id bigint PRIMARY KEY,
  created timestamptz NOT NULL,
  title text NOT NULL,
  body text NOT NULL,
  doc jsonb NOT NULL,
  blob bytea NOT NULL,
  price numeric(12, 2)
);
INSERT INTO wide
SELECT g,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '17 seconds',
       initcap(md5(g::text)) || ' ' || substr(md5(random()::text), 1, 1 + (random() * 31)::int),
       (SELECT string_agg(md5((g * 64 + i)::text), ' ') FROM generate_series(1, 12 + g % 8) i),
       jsonb_build_object(
         'user', md5(g::text || 'u'),
         'n', g % 1000,
         'score', round(random()::numeric, 6),
         'tags', jsonb_build_array('t' || g % 7, 't' || g % 11, 't' || g % 13),
         'address', jsonb_build_object('city', 'city ' || g % 997, 'zip', lpad((g % 99991)::text, 5, '0'),
                                       'line', md5(g::text || 'a') || md5(g::text || 'b')),
         'active', g % 3 = 0),
       (SELECT string_agg(sha256(int8send(g * 1024 + i)), ''::bytea)
          FROM generate_series(1, CASE WHEN g % 25 = 0 THEN 256 ELSE 8 END) i),
       round((random() * 10000)::numeric, 2)
FROM generate_series(1, (150000 * current_setting('bench.scale')::numeric)::bigint) g;
CREATE INDEX wide_created ON wide (created);

-- Narrow: many short rows (52 bytes each on the page), where per-row cost dominates.
CREATE TABLE narrow (
  id bigint PRIMARY KEY,
  a int NOT NULL,
  b int,
  ts timestamptz NOT NULL
);
INSERT INTO narrow
SELECT g, (random() * 1000000)::int, CASE WHEN g % 10 = 0 THEN NULL ELSE (random() * 2147483647)::int END,
       timestamptz '2020-01-01 00:00:00+00' + (random() * 126230400) * interval '1 second'
FROM generate_series(1, (3000000 * current_setting('bench.scale')::numeric)::bigint) g;
CREATE INDEX narrow_a ON narrow (a);

-- Many small tables: per-table overhead (a COPY each, catalog work, a primary key each).
DO $$
DECLARE
  rows bigint := (1000 * current_setting('bench.scale')::numeric)::bigint;
BEGIN
  FOR t IN 1..200 LOOP
    EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, name text NOT NULL, qty int, price numeric(10, 2),
                    updated timestamptz NOT NULL)', 'small_' || lpad(t::text, 3, '0'));
    EXECUTE format('INSERT INTO %I SELECT g, md5((g * 211 + %s)::text), (random() * 500)::int,
                    round((random() * 1000)::numeric, 2), timestamptz ''2023-06-01 00:00:00+00'' + g * interval ''1 minute''
                    FROM generate_series(1, %s) g', 'small_' || lpad(t::text, 3, '0'), t, rows);
  END LOOP;
END
$$;
