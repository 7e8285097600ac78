-- Each user's version: 1 when created, one more with every change. The
-- entity tag (ETag) is derived from it. Existing users start at 1; adding
-- a column with a constant default rewrites no row.
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- Idempotency keys of creates (`POST /users` with `Idempotency-Key`),
-- written in the same transaction as the user they created, so neither
-- exists without the other. The row keeps the user as created: a retry
-- with the same key gets that answer again, and a retry whose (validated)
-- email and name differ is refused. `seq` follows the order keys were
-- stored, which is the order they expire in: the sweep deletes from the
-- front without an index on `created_at`.
CREATE TABLE idempotency_keys (
    seq        INTEGER PRIMARY KEY,
    owner      BLOB    NOT NULL CHECK (length(owner) = 16),
    key        TEXT    NOT NULL,
    user_id    BLOB    NOT NULL CHECK (length(user_id) = 16),
    email      TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX idempotency_keys_owner_key ON idempotency_keys (owner, key);
