-- Search: one trigram index (FTS5) over each user's search document, which
-- src/storage/sqlite/search_index.rs writes: the name and the email, and
-- the first two characters of each of their words behind a marker, so one
-- index answers substrings (3 or more characters) and word prefixes (1 or
-- 2). Contentless: the text stays in users only.
CREATE VIRTUAL TABLE users_search USING fts5(
    document, content = '', contentless_delete = 1, tokenize = 'trigram'
);
-- The index grows by segments of thousands of users (the writer adds them
-- in bulk); merging 16 at a time instead of 4 halves the merge work.
INSERT INTO users_search (users_search, rank) VALUES ('automerge', 16);

-- Users written since the index last took them in. A write only lists the
-- user here (in its own statement, through the triggers below); the writer
-- adds the listed users to the index in bulk, thousands at a time or when
-- writes pause, because FTS5 costs far less per user in bulk. A search
-- reads the index and this list, so it is exact at every commit.
CREATE TABLE users_search_pending (doc INTEGER PRIMARY KEY);

-- Everyone already here is indexed by the service right after this
-- migration (the document needs Rust).
INSERT INTO users_search_pending (doc)
SELECT search_doc FROM users WHERE search_doc IS NOT NULL;

CREATE TRIGGER users_search_insert AFTER INSERT ON users
WHEN new.search_doc IS NOT NULL BEGIN
    INSERT OR IGNORE INTO users_search_pending (doc) VALUES (new.search_doc);
END;

CREATE TRIGGER users_search_update AFTER UPDATE OF name, email ON users
WHEN old.search_doc IS NOT NULL BEGIN
    DELETE FROM users_search WHERE rowid = old.search_doc;
    INSERT OR IGNORE INTO users_search_pending (doc) VALUES (old.search_doc);
END;

CREATE TRIGGER users_search_delete AFTER DELETE ON users
WHEN old.search_doc IS NOT NULL BEGIN
    DELETE FROM users_search WHERE rowid = old.search_doc;
    DELETE FROM users_search_pending WHERE doc = old.search_doc;
END;
