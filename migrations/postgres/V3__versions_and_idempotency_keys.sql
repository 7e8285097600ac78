-- Each user's version: 1 when created, one more with every change. The
-- entity tag (ETag) is derived from it. A constant default adds the column
-- without rewriting the table.
ALTER TABLE users ADD COLUMN version bigint NOT NULL DEFAULT 1;

-- Idempotency keys of creates (`POST /users` with `Idempotency-Key`),
-- inserted in the same transaction as the user they created. The row
-- keeps the user as created, to answer a retry again; its primary key
-- makes a concurrent request with the same key wait for the first one's
-- transaction. `owner` is a digest of the API token (zeros when the API
-- is open), never the token itself.
CREATE TABLE idempotency_keys (
    owner      bytea       NOT NULL,
    key        text        NOT NULL,
    user_id    uuid        NOT NULL,
    email      text        NOT NULL,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (owner, key)
);

-- Expired keys are deleted oldest first.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
