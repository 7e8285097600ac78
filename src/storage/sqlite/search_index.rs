//! The search index (`users_search`, FTS5 with the trigram tokenizer): what
//! a user's entry holds, and how users get into it.
//!
//! An entry is the name and the email, each on a line (no search term holds
//! a line break or a control character, so no match spans two), then, for
//! every word of either (a run of letters and digits), two [`MARK`]s and
//! its first two characters. A word prefix of one or two characters is
//! then the trigram `MARK MARK a` or `MARK a b`, which only a word's start
//! holds. One index answers both kinds of search. It keeps no positions
//! (`detail = none`, migration V7), so for a longer term it finds the users
//! holding all of its trigrams, and a search checks each against the term
//! ([`expression`]).
//!
//! A write only lists the user in `users_search_pending` (the insert's
//! next statement, `queries::insert`; a trigger of a rename or a delete);
//! [`Upkeep`] moves listed users into the index in
//! bulk. Measured (BENCHMARKS.md "Search and sort"): an FTS5 insert per
//! user cut the durable POST rate to 0.14x, because FTS5 writes a segment
//! per statement and then merges them; in bulk it costs a fraction. A
//! search reads the index and the list (`listing.rs`), so it is exact at
//! every commit.

use std::time::{Duration, Instant};

use rusqlite::types::ToSql;
use rusqlite::{params_from_iter, Connection};

use super::connection::store_error;
use crate::storage::StoreError;

/// Marks the start of a word; a control character, so never in a term.
const MARK: char = '\u{1}';

/// The text indexed for a user with this name and email.
///
/// A word start is written once, however many words begin with it: the
/// index keeps no positions, so a second copy finds nobody new, and each
/// costs FTS5 four trigram inserts (a name's words are usually in the
/// email too). Starts that differ only in ASCII case are the same (the
/// tokenizer folds case); other letters are compared as they are, so a
/// start is never dropped for a fold the tokenizer might not make.
pub(super) fn document(name: &str, email: &str) -> String {
    let mut document = String::with_capacity(2 * (name.len() + email.len()) + 2);
    document.push_str(name);
    document.push('\n');
    document.push_str(email);
    document.push('\n');
    let mut starts: Vec<&str> = Vec::with_capacity(8);
    for word in name
        .split(|c: char| !c.is_alphanumeric())
        .chain(email.split(|c: char| !c.is_alphanumeric()))
        .filter(|word| !word.is_empty())
    {
        let end = word.char_indices().nth(2).map_or(word.len(), |(i, _)| i);
        let start = &word[..end];
        if starts.iter().any(|seen| seen.eq_ignore_ascii_case(start)) {
            continue;
        }
        starts.push(start);
        document.push(MARK);
        document.push(MARK);
        document.push_str(start);
    }
    document
}

/// The FTS5 query for a term. The index keeps no positions (migration V7),
/// so it answers one trigram at a time: a term of three characters (or a
/// word prefix, padded with [`MARK`]s to three) is one trigram, a longer
/// term every trigram it holds, all required. That finds a superset of the
/// users holding the term; the caller checks each one found against the
/// term. Each trigram is quoted, so FTS5 syntax in a term (`*`, `OR`,
/// `NEAR`, quotes) is text.
pub(super) fn expression(term: &str, word_prefix: bool) -> String {
    let mut chars: Vec<char> = term.chars().collect();
    if word_prefix {
        let marks = 3usize.saturating_sub(chars.len());
        chars.splice(0..0, std::iter::repeat_n(MARK, marks));
    }
    let mut expression = String::with_capacity(4 * term.len() + 8);
    for (i, trigram) in chars.windows(3).enumerate() {
        if i > 0 {
            expression.push_str(" AND ");
        }
        expression.push('"');
        for &c in trigram {
            if c == '"' {
                expression.push('"');
            }
            expression.push(c);
        }
        expression.push('"');
    }
    expression
}

/// Entries to add, written by as few statements as the bound-parameter
/// limit allows: FTS5 writes a segment of its own for every statement, so a
/// move of 2,000 users is one multi-row INSERT.
#[derive(Default)]
struct Additions(Vec<(i64, String)>);

/// Rows per INSERT: two parameters each, well under SQLite's limit of
/// 32,766, and as many as the writer moves at once.
const ROWS_PER_INSERT: usize = 2_000;

impl Additions {
    fn write(&mut self, conn: &Connection) -> Result<(), StoreError> {
        for chunk in self.0.chunks(ROWS_PER_INSERT) {
            let mut sql = String::with_capacity(48 + chunk.len() * 6);
            sql.push_str("INSERT INTO users_search (rowid, document) VALUES ");
            for i in 0..chunk.len() {
                sql.push_str(if i == 0 { "(?,?)" } else { ",(?,?)" });
            }
            let mut stmt = conn.prepare_cached(&sql).map_err(store_error)?;
            let values = chunk
                .iter()
                .flat_map(|(rowid, document)| [rowid as &dyn ToSql, document as &dyn ToSql]);
            stmt.execute(params_from_iter(values))
                .map_err(store_error)?;
        }
        self.0.clear();
        Ok(())
    }
}

/// Moves up to `most` listed users into the index, inside the transaction
/// that is open on `conn`; returns how many it moved.
pub(super) fn index_pending_within(conn: &Connection, most: usize) -> Result<usize, StoreError> {
    const READ: &str = "SELECT users_search_pending.doc, users.name, users.email \
         FROM users_search_pending CROSS JOIN users ON users.search_doc = users_search_pending.doc \
         ORDER BY users_search_pending.doc LIMIT ?1";
    const FORGET: &str = "DELETE FROM users_search_pending WHERE doc <= ?1";
    let mut additions = Additions::default();
    {
        let mut read = conn.prepare_cached(READ).map_err(store_error)?;
        let mut rows = read
            .query([i64::try_from(most).unwrap_or(i64::MAX)])
            .map_err(store_error)?;
        while let Some(row) = rows.next().map_err(store_error)? {
            let doc: i64 = row.get(0).map_err(store_error)?;
            let name: String = row.get(1).map_err(store_error)?;
            let email: String = row.get(2).map_err(store_error)?;
            additions.0.push((doc, document(&name, &email)));
        }
    }
    let moved = additions.0.len();
    let Some(&(last, _)) = additions.0.last() else {
        return Ok(0);
    };
    additions.write(conn)?;
    // Every listed number up to the last read was read: a listed user
    // always exists (deleting one unlists it).
    let mut forget = conn.prepare_cached(FORGET).map_err(store_error)?;
    forget.execute([last]).map_err(store_error)?;
    Ok(moved)
}

/// Moves up to `most` listed users into the index in a transaction of its
/// own; returns how many it moved.
///
/// `BEGIN IMMEDIATE`: a deferred transaction that read the list and then
/// wrote would fail at once (SQLITE_BUSY, no wait) whenever another process
/// wrote in between, as a live import beside the server does.
pub(super) fn index_pending(conn: &Connection, most: usize) -> Result<usize, StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(store_error)?;
    let moved = index_pending_within(conn, most);
    let end = match moved {
        Ok(_) => "COMMIT",
        Err(_) => "ROLLBACK",
    };
    if let Err(e) = conn.execute_batch(end) {
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        moved?;
        return Err(store_error(e));
    }
    moved
}

/// When the writer thread moves listed users into the index: every
/// [`Upkeep::EVERY`] writes while writes keep coming, and whatever is
/// listed once they pause for [`Upkeep::PAUSE`]. A search reads the list
/// too, so the list is kept short.
pub(super) struct Upkeep {
    /// Writes since the last move (some may have listed nobody).
    unindexed: usize,
}

impl Upkeep {
    /// Writes between two bulk moves under steady load.
    const EVERY: usize = 2_000;
    /// A pause in writes this long moves what is listed.
    pub(super) const PAUSE: Duration = Duration::from_millis(50);
    /// Users moved per transaction.
    const CHUNK: usize = 5_000;

    pub(super) fn new() -> Self {
        Self { unindexed: 0 }
    }

    /// Whether users may be waiting: the writer then waits for the next
    /// write only [`Upkeep::PAUSE`] before it moves them.
    pub(super) fn is_due(&self) -> bool {
        self.unindexed > 0
    }

    /// After a batch of `writes` was committed.
    pub(super) fn wrote(&mut self, conn: &Connection, writes: usize) {
        self.unindexed += writes;
        if self.unindexed >= Self::EVERY {
            self.index(conn);
        }
    }

    /// Moves every listed user; returns whether it moved any.
    pub(super) fn index(&mut self, conn: &Connection) -> bool {
        let mut moved = 0;
        loop {
            match index_pending(conn, Self::CHUNK) {
                Ok(n) => {
                    moved += n;
                    if n < Self::CHUNK {
                        self.unindexed = 0;
                        return moved > 0;
                    }
                }
                Err(e) => {
                    // Searches stay exact (they read the list); the next
                    // write tries again.
                    log::warn!("adding users to the search index failed: {e}");
                    return moved > 0;
                }
            }
        }
    }
}

/// Moves every listed user into the index (after migration V4: everyone),
/// in transactions of 20,000, saying how far it got; a large catch-up ends
/// by merging the index into one segment, for faster searches.
pub(super) fn catch_up(conn: &Connection) -> Result<(), StoreError> {
    const CHUNK: usize = 20_000;
    let started = Instant::now();
    let listed: i64 = conn
        .query_row("SELECT count(*) FROM users_search_pending", [], |row| {
            row.get(0)
        })
        .map_err(store_error)?;
    if listed < CHUNK as i64 {
        index_pending(conn, CHUNK)?;
        return Ok(());
    }
    log::info!("adding {listed} users to the search index");
    let mut done = 0;
    loop {
        let moved = index_pending(conn, CHUNK)?;
        done += moved;
        if moved < CHUNK {
            break;
        }
        log::info!(
            "search index: {done} of {listed} users ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
    }
    conn.execute_batch("INSERT INTO users_search (users_search) VALUES ('optimize')")
        .map_err(store_error)?;
    log::info!(
        "search index: {done} users added in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_holds_both_fields_and_two_letters_of_every_word_once() {
        assert_eq!(
            document("Zoë O'Brien", "zoe.o@example.com"),
            "Zoë O'Brien\nzoe.o@example.com\n\
             \u{1}\u{1}Zo\u{1}\u{1}O\u{1}\u{1}Br\u{1}\u{1}ex\u{1}\u{1}co"
        );
    }

    #[test]
    fn word_starts_that_differ_beyond_ascii_case_are_all_kept() {
        assert_eq!(
            document("Ülla Über", "ülla.über@example.com"),
            "Ülla Über\nülla.über@example.com\n\
             \u{1}\u{1}Ül\u{1}\u{1}Üb\u{1}\u{1}ül\u{1}\u{1}üb\
             \u{1}\u{1}ex\u{1}\u{1}co"
        );
    }

    #[test]
    fn expressions_ask_every_trigram_quoted_and_mark_word_prefixes() {
        assert_eq!(expression("mül", false), "\"mül\"");
        assert_eq!(expression("a\"b*", false), "\"a\"\"b\" AND \"\"\"b*\"");
        assert_eq!(expression("c OR", false), "\"c O\" AND \" OR\"");
        assert_eq!(expression("z", true), "\"\u{1}\u{1}z\"");
        assert_eq!(expression("zo", true), "\"\u{1}zo\"");
    }
}
