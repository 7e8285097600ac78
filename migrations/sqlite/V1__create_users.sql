-- Users, clustered by id. Email is stored trimmed and lower-cased by the
-- service, so a plain unique index makes case-variants the same email.
-- Timestamps are microseconds since the Unix epoch (UTC).
CREATE TABLE users (
    id         BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    email      TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX users_email_key ON users (email);

-- Newest-first keyset paging: (created_at, id) DESC, one seek per page.
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
