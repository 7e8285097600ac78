-- The search index again, without positions (`detail = none`): an entry
-- then holds which users have a trigram, not where in their text. The
-- index is about a third of the size and a bulk move into it costs about
-- a third less (BENCHMARKS.md, "Search index without positions"). A term
-- of four or more characters is asked as all of its trigrams, and each
-- user found is checked against the term itself (`listing.rs`), since
-- having every trigram of a term does not mean holding the term.
DROP TABLE users_search;
CREATE VIRTUAL TABLE users_search USING fts5(
    document, content = '', contentless_delete = 1, tokenize = 'trigram',
    detail = none
);
INSERT INTO users_search (users_search, rank) VALUES ('automerge', 16);

-- Everyone is indexed again by the service right after this migration,
-- with its progress in the log (`search_index::catch_up`).
INSERT OR IGNORE INTO users_search_pending (doc)
SELECT search_doc FROM users WHERE search_doc IS NOT NULL;
