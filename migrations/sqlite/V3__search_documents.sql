-- Each user's number in the search index (FTS5 needs an integer rowid;
-- users has none). The number is ordered like created_at, newest first:
-- minus the millisecond of created_at (clamped to about 1831..2109) times
-- 2^20, plus a slot that is free within that millisecond. So a search can
-- walk its matches newest first straight out of the index, in the index's
-- own ascending order, and stop after one page; the service orders users
-- within one millisecond exactly by (created_at, id).
-- The service allocates the number when it inserts a user
-- (src/storage/sqlite/search_doc.rs holds the same formula).
ALTER TABLE users ADD COLUMN search_doc INTEGER;

UPDATE users SET search_doc = -numbered.bucket * 1048576 + numbered.slot
FROM (
    SELECT id, bucket,
           row_number() OVER (PARTITION BY bucket ORDER BY created_at, id) - 1 AS slot
    FROM (
        SELECT id, created_at,
               max(-4398046511104, min(4398046511103, created_at / 1000)) AS bucket
        FROM users
    )
) AS numbered
WHERE users.id = numbered.id AND numbered.slot < 1048576;

CREATE UNIQUE INDEX users_search_doc_key ON users (search_doc);
