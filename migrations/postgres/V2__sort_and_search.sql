-- Sorting by name (case-insensitive, ties by id), and search, with the
-- core of PostgreSQL only: no extension to install, whatever the role may.
CREATE INDEX users_name_id_idx ON users (lower(name), id);

-- Substring search (3 or more characters): a GIN index over the set of
-- trigrams of name and email (joined by a newline, which no search term
-- holds), so a search reads the users that have every trigram of the term;
-- strpos() then checks the substring itself.
CREATE FUNCTION users_trigrams(document text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT coalesce(array_agg(DISTINCT substr(document, i, 3)), '{}')
    FROM generate_series(1, length(document) - 2) AS i
$$;

CREATE INDEX users_search_trigram_idx ON users
USING gin (users_trigrams(lower(name) || chr(10) || lower(email)));

-- Word-prefix search (1 or 2 characters): the words of name and email
-- (runs between spaces and @ . + _ -), searched as `ab:*`.
CREATE INDEX users_search_words_idx ON users
USING gin (to_tsvector('simple', translate(lower(name) || ' ' || lower(email), '@.+_-', '     ')));
