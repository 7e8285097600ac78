-- Users, keyed by the service-generated UUIDv7. The service stores email
-- trimmed and lower-cased; the unique index on lower(email) makes the
-- database itself refuse case-variants, whoever writes the row.
CREATE TABLE users (
    id         uuid        NOT NULL PRIMARY KEY,
    email      text        NOT NULL,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Newest-first keyset paging: one index seek per page at any table size.
CREATE INDEX users_created_at_id_idx ON users (created_at DESC, id DESC);
