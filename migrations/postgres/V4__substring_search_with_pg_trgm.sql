-- Substring search by pg_trgm, when the database lets us have it.
--
-- Migration 2's trigram index computes each user's trigrams with an SQL
-- function: ~45 µs of the ~100 µs an INSERT costs with every index
-- (BENCHMARKS.md). pg_trgm computes them in C. It ships with PostgreSQL and
-- is a trusted extension since PostgreSQL 13, so the owner of the database
-- (or anyone with CREATE on it) may create it; a managed service may also
-- have it installed already. When it cannot be had, migration 2's index
-- stays: search works as before, inserts stay slower, and the service
-- says so in its log at every start (src/storage/postgres/search_index.rs),
-- with the statements that switch later.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'user-service: pg_trgm could not be created (%); substring search keeps the slower index users_search_trigram_idx', SQLERRM;
END
$$;

-- The operator class is named with the extension's schema, which need not
-- be on the search_path (an `extensions` schema, or another schema of this
-- database). The expression is the one the listing searches with LIKE.
--
-- PostgreSQL estimates how many users a LIKE matches from a histogram of
-- the expression. The default (100 values) makes every rare term look
-- common, and the planner then walks the newest-first index past the whole
-- table (1.8 s at 1M users) instead of reading the few matches from this
-- index (0.5 ms). With 1,000 values the estimates are close enough and
-- planning stays under a millisecond (BENCHMARKS.md). A table with users
-- is analyzed now, so an upgrade does not wait for autovacuum; a new one is
-- left to autovacuum as it grows (statistics of an empty table would only
-- tell the planner that it is empty).
DO $$
DECLARE
    home name;
BEGIN
    SELECT n.nspname INTO home
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    IF home IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format(
        'CREATE INDEX users_search_trgm_idx ON users '
        'USING gin ((lower(name) || chr(10) || lower(email)) %I.gin_trgm_ops)',
        home);
    ALTER INDEX users_search_trgm_idx ALTER COLUMN 1 SET STATISTICS 1000;
    DROP INDEX users_search_trigram_idx;
    IF (SELECT count(*) FROM (SELECT FROM users LIMIT 1000) AS first_users) >= 1000 THEN
        ANALYZE users;
    END IF;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'user-service: pg_trgm is there but its index could not be created (%); substring search keeps the slower index users_search_trigram_idx', SQLERRM;
END
$$;
