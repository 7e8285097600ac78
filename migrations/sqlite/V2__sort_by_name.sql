-- Pages sorted by name: names sort case-insensitively (NOCASE folds ASCII
-- letters), ties by id.
CREATE INDEX users_name_id_idx ON users (name COLLATE NOCASE, id);
