-- FTS5 merges 16 segments of one level of the search index into one
-- (`automerge` 16). With `crisismerge` at its default, also 16, a level
-- that reaches 16 segments is merged whole at once, inside the writer's
-- move: every 100,000-300,000 new users the writer then stalls for
-- 0.3-0.5 s and every POST waits behind it. At 64 the merge `automerge`
-- starts goes on in steps, a slice after each move, and no move holds the
-- writer much longer than the others. Measured in 20 s runs of durable
-- POSTs (BENCHMARKS.md, "Durable POST with the new indexes"). A setting
-- of the index, so no user is indexed again.
INSERT INTO users_search (users_search, rank) VALUES ('crisismerge', 64);
