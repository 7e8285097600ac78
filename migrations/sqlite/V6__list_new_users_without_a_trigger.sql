-- A new user is listed for the search index by the writer itself, in a
-- statement of its own (src/storage/sqlite/queries.rs), no longer by a
-- trigger: an INSERT that fires a trigger keeps a statement journal (SQLite
-- must be able to undo it alone), a copy of every page it changes, which
-- took 6 % of a durable POST's CPU (BENCHMARKS.md).
DROP TRIGGER users_search_insert;
