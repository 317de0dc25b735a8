-- Change capture: every write to what the caches hold, made outside the API (psql, an import, a
-- migration, the seed, another service), is recorded in cache_changes inside the writing
-- transaction, so the record exists iff the write committed. Statement-level triggers with
-- transition tables: one INSERT … SELECT per statement, however many rows it touched. A TRUNCATE,
-- or a statement over more rows than `kitvault.change_log_bulk_rows` (default 1000), records one
-- coarse entry instead (followers drop everything cached). NOTIFY only wakes the followers
-- (one notification per transaction: identical payloads are folded); the table is the truth.
-- The API's own write transactions set `kitvault.source = 'api'` (src/services/write.ts) and are
-- skipped: they invalidate through cache_invalidations before the mutation answers.
CREATE FUNCTION kitvault_capture_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bulk_rows bigint := coalesce(nullif(current_setting('kitvault.change_log_bulk_rows', true), '')::bigint, 1000);
  touched bigint;
  picture text;
  changed text;
BEGIN
  IF current_setting('kitvault.source', true) = 'api' THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO cache_changes (table_name, coarse) VALUES (TG_TABLE_NAME, true);
    PERFORM pg_notify('kitvault_changes', '');
    RETURN NULL;
  END IF;
  -- Dynamic SQL throughout: each trigger of this function sees other transition tables.
  EXECUTE format('SELECT count(*) FROM %s', CASE TG_OP WHEN 'DELETE' THEN 'old_rows' ELSE 'new_rows' END) INTO touched;
  IF touched = 0 THEN
    RETURN NULL;
  END IF;
  IF touched > bulk_rows THEN
    INSERT INTO cache_changes (table_name, coarse) VALUES (TG_TABLE_NAME, true);
  ELSIF TG_TABLE_NAME = 'kit_competitions' THEN
    changed := CASE TG_OP
      WHEN 'INSERT' THEN 'SELECT kit_id, competition_id, true AS added FROM new_rows'
      WHEN 'DELETE' THEN 'SELECT kit_id, competition_id, false AS added FROM old_rows'
      ELSE 'SELECT kit_id, competition_id, false AS added FROM old_rows UNION ALL SELECT kit_id, competition_id, true FROM new_rows'
    END;
    -- A kit whose competitions changed: its row with the set before and after, as updateKit reports it.
    EXECUTE format($q$
      WITH changed AS (%s),
      sets AS (
        SELECT k.id, coalesce((SELECT array_agg(kc.competition_id ORDER BY kc.competition_id)
                               FROM kit_competitions kc WHERE kc.kit_id = k.id), '{}') AS now_ids
        FROM kits k WHERE k.id IN (SELECT kit_id FROM changed)
      )
      INSERT INTO cache_changes (table_name, row_id, before, after)
      SELECT 'kits', k.id,
        to_jsonb(k) || jsonb_build_object('competition_ids', coalesce((
          SELECT array_agg(x ORDER BY x) FROM (
            SELECT unnest(s.now_ids) AS x
            EXCEPT SELECT c.competition_id FROM changed c WHERE c.kit_id = k.id AND c.added
            UNION SELECT c.competition_id FROM changed c WHERE c.kit_id = k.id AND NOT c.added
          ) q), '{}')),
        to_jsonb(k) || jsonb_build_object('competition_ids', s.now_ids)
      FROM kits k JOIN sets s ON s.id = k.id
    $q$, changed);
    -- A kit already gone (deleted, its memberships cascading): the competitions lose it.
    EXECUTE format($q$
      WITH changed AS (%s),
      gone AS (
        SELECT competition_id, array_agg(DISTINCT kit_id) AS kit_ids FROM changed
        WHERE NOT EXISTS (SELECT 1 FROM kits k WHERE k.id = changed.kit_id) GROUP BY competition_id
      )
      INSERT INTO cache_changes (table_name, row_id, before, after)
      SELECT 'competitions', c.id,
        to_jsonb(c) || jsonb_build_object('kit_ids', g.kit_ids), to_jsonb(c) || jsonb_build_object('kit_ids', g.kit_ids)
      FROM gone g JOIN competitions c ON c.id = g.competition_id
    $q$, changed);
  ELSE
    -- How a row (alias ROW_ALIAS) is pictured: users by their public fields only (never a password
    -- hash); kits with their competition ids (the lists a kit is a member of).
    picture := CASE TG_TABLE_NAME
      WHEN 'users' THEN 'jsonb_build_object(''id'', ROW_ALIAS.id, ''username'', ROW_ALIAS.username, ''role'', ROW_ALIAS.role)'
      WHEN 'kits' THEN 'to_jsonb(ROW_ALIAS) || jsonb_build_object(''competition_ids'', coalesce((SELECT array_agg(kc.competition_id ORDER BY kc.competition_id) FROM kit_competitions kc WHERE kc.kit_id = ROW_ALIAS.id), ''{}''))'
      ELSE 'to_jsonb(ROW_ALIAS)'
    END;
    IF TG_OP = 'INSERT' THEN
      EXECUTE format('INSERT INTO cache_changes (table_name, row_id, after) SELECT %L, n.id, %s FROM new_rows n',
        TG_TABLE_NAME, replace(picture, 'ROW_ALIAS', 'n'));
    ELSIF TG_OP = 'DELETE' THEN
      EXECUTE format('INSERT INTO cache_changes (table_name, row_id, before) SELECT %L, o.id, %s FROM old_rows o',
        TG_TABLE_NAME, replace(picture, 'ROW_ALIAS', 'o'));
    ELSE
      -- Rows whose picture did not change (a password, `SET name = name`) drop nothing.
      EXECUTE format($q$
        INSERT INTO cache_changes (table_name, row_id, before, after)
        SELECT %L, p.id, p.b, p.a FROM (
          SELECT coalesce(n.id, o.id) AS id,
            CASE WHEN o.id IS NULL THEN NULL ELSE %s END AS b,
            CASE WHEN n.id IS NULL THEN NULL ELSE %s END AS a
          FROM old_rows o FULL JOIN new_rows n ON n.id = o.id
        ) p WHERE p.b IS DISTINCT FROM p.a
      $q$, TG_TABLE_NAME, replace(picture, 'ROW_ALIAS', 'o'), replace(picture, 'ROW_ALIAS', 'n'));
    END IF;
  END IF;
  PERFORM pg_notify('kitvault_changes', '');
  RETURN NULL;
END
$$;
--> statement-breakpoint
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['clubs', 'seasons', 'brands', 'competitions', 'kits', 'kit_competitions', 'collection_items', 'users'] LOOP
    EXECUTE format('CREATE TRIGGER kitvault_capture_insert AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kitvault_capture_changes()', t);
    EXECUTE format('CREATE TRIGGER kitvault_capture_update AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kitvault_capture_changes()', t);
    EXECUTE format('CREATE TRIGGER kitvault_capture_delete AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION kitvault_capture_changes()', t);
    EXECUTE format('CREATE TRIGGER kitvault_capture_truncate AFTER TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION kitvault_capture_changes()', t);
  END LOOP;
END
$$;
