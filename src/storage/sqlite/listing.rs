//! Pages of `GET /users` on SQLite: each one bounded by an index, never by
//! a scan of the table.
//!
//! - Newest or oldest first: a range of the `(created_at, id)` index.
//! - By name or email: their indexes, from the cursor's key on.
//! - A search in `created_at` order walks the search index (FTS5, see
//!   `search_doc.rs`) in the order of its numbers, millisecond by
//!   millisecond, and stops once it has a page and the millisecond it is
//!   in is complete; within one millisecond it orders by `(created_at, id)`.
//! - A search by name or email sorts its matches when they are few, and
//!   otherwise walks the order's index testing each user: either way its
//!   cost is bounded by the matches, not by the table.
//! - A search also reads the users not yet in the index (at most a few
//!   thousand, see `search_index.rs`) and merges them in.

use rusqlite::{named_params, Connection};

use super::connection::store_error;
use super::queries::{by_email, collect, read_row};
use super::{search_doc, search_index};
use crate::domain::{SearchKind, SearchTerm, Timestamp, User};
use crate::storage::{ListQuery, Page, Position, Sort, SortKey, StoreError};

const COLUMNS: &str =
    "users.id, users.email, users.name, users.created_at, users.updated_at, users.version";
/// Where a column selected after [`COLUMNS`] is: `read_row` reads those.
const AFTER_COLUMNS: usize = column_count(COLUMNS);

const fn column_count(columns: &str) -> usize {
    let bytes = columns.as_bytes();
    let mut count = 1;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b',' {
            count += 1;
        }
        i += 1;
    }
    count
}
const FIRST_ID: [u8; 16] = [0; 16];
const LAST_ID: [u8; 16] = [0xff; 16];

pub(super) fn list(conn: &Connection, query: &ListQuery) -> Result<Page, StoreError> {
    if query.selects_nobody() {
        return Ok(Page::empty());
    }
    if let Some(email) = &query.email {
        // At most one user: read it and apply the other filters here.
        let user = by_email(conn, email)?.filter(|u| query.selects(u));
        return Ok(Page {
            users: user.into_iter().collect(),
            next: None,
        });
    }
    let search = query.search.as_ref().map(Search::of);
    let Some(search) = search else {
        return match query.sort.key {
            SortKey::CreatedAt => by_time(conn, query),
            _ => by_key(conn, query, None),
        };
    };
    // The index and the list of users not in it yet are read in one
    // snapshot, so a user the writer moves meanwhile is seen exactly once.
    let tx = match conn.is_autocommit() {
        true => Some(conn.unchecked_transaction().map_err(store_error)?),
        false => None,
    };
    let page = match query.sort.key {
        SortKey::CreatedAt => search_by_time(conn, query, &search),
        _ => search_by_key(conn, query, &search),
    }?;
    if let Some(tx) = tx {
        tx.finish().map_err(store_error)?;
    }
    Ok(page)
}

/// A search as FTS5 is asked it.
struct Search<'a> {
    table: &'static str,
    /// The MATCH expression (see `search_index.rs`).
    expression: String,
    term: &'a SearchTerm,
}

impl<'a> Search<'a> {
    fn of(term: &'a SearchTerm) -> Self {
        Self {
            table: "users_search",
            expression: search_index::expression(
                term.as_str(),
                term.kind() == SearchKind::WordPrefix,
            ),
            term,
        }
    }

    /// Whether a user the index found holds the term: the index, having
    /// no positions, finds every user with all of a term's trigrams.
    fn holds(&self, user: &User) -> bool {
        self.term.matches(user)
    }
}

/// The `(created_at, id)` pairs a `created_at`-ordered page lies strictly
/// between: the date filters and the cursor.
struct Span {
    after: (i64, [u8; 16]),
    before: (i64, [u8; 16]),
}

impl Span {
    fn of(query: &ListQuery) -> Self {
        let micros = |at: Option<Timestamp>, none| at.map_or(none, |at| at.unix_micros());
        let mut span = Self {
            after: (micros(query.created_after, i64::MIN), LAST_ID),
            before: (micros(query.created_before, i64::MAX), FIRST_ID),
        };
        if let Some(Position::Created { created_at, id }) = &query.after {
            let at = (created_at.unix_micros(), *id.as_bytes());
            if query.sort.descending {
                span.before = span.before.min(at);
            } else {
                span.after = span.after.max(at);
            }
        }
        span
    }
}

fn direction(descending: bool) -> &'static str {
    if descending {
        "DESC"
    } else {
        "ASC"
    }
}

/// Newest or oldest first, no search. The limit is wrapped in a CAST so
/// the planner cannot see its value: when it can, SQLite recompiles the
/// statement whenever a new value is bound (6.6 % of a list benchmark's
/// samples). `a_list_statement_is_compiled_once` checks.
fn by_time(conn: &Connection, query: &ListQuery) -> Result<Page, StoreError> {
    let span = Span::of(query);
    let mut stmt = conn
        .prepare_cached(by_time_sql(query.sort.descending))
        .map_err(store_error)?;
    let rows = stmt
        .query_map(
            named_params! {
                ":after_at": span.after.0,
                ":after_id": span.after.1.as_slice(),
                ":before_at": span.before.0,
                ":before_id": span.before.1.as_slice(),
                ":limit": i64::from(query.limit) + 1,
            },
            read_row,
        )
        .map_err(store_error)?;
    Ok(Page::cut(collect(rows)?, query.limit, SortKey::CreatedAt))
}

/// The statement of [`by_time`]: constants, since the default listing is
/// the most read page and needs no text built per request.
fn by_time_sql(descending: bool) -> &'static str {
    macro_rules! by_time {
        ($order:literal) => {
            concat!(
                "SELECT users.id, users.email, users.name, users.created_at, users.updated_at, \
                 users.version FROM users \
                 WHERE (created_at, id) > (:after_at, :after_id) \
                   AND (created_at, id) < (:before_at, :before_id) \
                 ORDER BY created_at ",
                $order,
                ", id ",
                $order,
                " LIMIT CAST(:limit AS INTEGER)"
            )
        };
    }
    if descending {
        by_time!("DESC")
    } else {
        by_time!("ASC")
    }
}

/// A search, newest or oldest first: see the module's header.
fn search_by_time(
    conn: &Connection,
    query: &ListQuery,
    search: &Search,
) -> Result<Page, StoreError> {
    let span = Span::of(query);
    let sql = search_by_time_sql(search.table, query.sort.descending);
    let mut stmt = conn.prepare_cached(&sql).map_err(store_error)?;
    let values = SearchByTime::of(search, &span);
    let mut rows = stmt
        .query(values.params().as_slice())
        .map_err(store_error)?;
    // One more than a page tells whether another follows; the millisecond
    // the last of them is in is read to its end, since its users come in
    // no particular order.
    let wanted = query.limit as usize + 1;
    let mut indexed = 0;
    let mut users = Vec::with_capacity(wanted);
    let mut bucket = None;
    while let Some(row) = rows.next().map_err(store_error)? {
        let doc: i64 = row.get(AFTER_COLUMNS).map_err(store_error)?;
        let this = search_doc::bucket_of(doc);
        if indexed >= wanted && bucket != Some(this) {
            break;
        }
        let user = read_row(row).map_err(store_error)??;
        if !search.holds(&user) {
            continue;
        }
        bucket = Some(this);
        indexed += 1;
        users.push(user);
    }
    // Users not read from the index come after all those read, so the
    // page's users are among these and the unindexed ones.
    let within = |user: &User| {
        let at = (user.created_at.unix_micros(), *user.id.as_bytes());
        span.after < at && at < span.before
    };
    users.extend(unindexed(conn, query)?.into_iter().filter(within));
    sort(&mut users, query.sort);
    Ok(Page::cut(users, query.limit, SortKey::CreatedAt))
}

/// The values bound to [`search_by_time_sql`]'s parameters.
struct SearchByTime<'a> {
    expression: &'a str,
    docs: (i64, i64),
    span: &'a Span,
}

impl<'a> SearchByTime<'a> {
    fn of(search: &'a Search, span: &'a Span) -> Self {
        Self {
            expression: &search.expression,
            docs: (
                search_doc::range(span.before.0).0,
                search_doc::range(span.after.0).1,
            ),
            span,
        }
    }

    fn params(&self) -> [(&'static str, &dyn rusqlite::ToSql); 7] {
        [
            (":search", &self.expression),
            (":first_doc", &self.docs.0),
            (":last_doc", &self.docs.1),
            (":after_at", &self.span.after.0),
            (":after_id", &self.span.after.1),
            (":before_at", &self.span.before.0),
            (":before_id", &self.span.before.1),
        ]
    }
}

/// The statement of [`search_by_time`]: users with their search number,
/// in the index's order.
fn search_by_time_sql(table: &str, descending: bool) -> String {
    // Newest first is the index's ascending order (`search_doc.rs`).
    let order = direction(!descending);
    format!(
        "SELECT {COLUMNS}, users.search_doc FROM {table} CROSS JOIN users \
           ON users.search_doc = {table}.rowid \
         WHERE {table} MATCH :search \
           AND {table}.rowid BETWEEN :first_doc AND :last_doc \
           AND (users.created_at, users.id) > (:after_at, :after_id) \
           AND (users.created_at, users.id) < (:before_at, :before_id) \
         ORDER BY {table}.rowid {order}"
    )
}

/// A search sorted by name or email: either sort everything the index
/// finds (about 4 µs per user found at 1M users), or walk the order's index
/// from the cursor on and test each user until a page is full (about 2 µs
/// per user walked). Walking wins when matches are spread through the
/// order, but the users of a first name all sit together in name order:
/// `q=sara` sorted by name walked ~800,000 users to reach them (2.6-2.9 s
/// at 1M users). So a walk is tried only where it should cost less than the
/// sort if the matches were spread evenly, with a budget worth what the
/// sort costs; the sort takes over when the budget runs out: at most about
/// twice the cheaper of the two.
fn search_by_key(
    conn: &Connection,
    query: &ListQuery,
    search: &Search,
) -> Result<Page, StoreError> {
    let found = found_up_to(conn, search, DENSE)?;
    if found < FEW {
        return by_key(conn, query, Some(search));
    }
    // Users walked per page if the matches were spread evenly. (Counting
    // the users takes 0.7 ms at 1M: SQLite counts the smallest index.)
    let users: i64 = conn
        .prepare_cached("SELECT count(*) FROM users")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
        .map_err(store_error)?;
    let even_walk = (i64::from(query.limit) + 1).saturating_mul(users) / found;
    if found < DENSE && even_walk > found.saturating_mul(WALK_PER_FOUND) {
        return by_key(conn, query, Some(search));
    }
    // Matches spread evenly fill a page within about `even_walk`; a walk
    // that takes several times that has met a cluster further on.
    let budget = (found < DENSE).then(|| {
        found
            .saturating_mul(WALK_PER_FOUND)
            .min(even_walk.saturating_mul(4))
            .max(1) as usize
    });
    match scan_by_key(conn, query, budget)? {
        Some(page) => Ok(page),
        None => by_key(conn, query, Some(search)),
    }
}

/// Fewer users found than this are sorted at once.
const FEW: i64 = 2_000;

/// Users walked that cost what sorting one user found costs (measured at
/// 1M users, BENCHMARKS.md "A search sorted by name").
const WALK_PER_FOUND: i64 = 2;

/// As many users found as this are not sorted (that would take 200 ms or
/// more at 1M users): the walk goes on without a budget. So many matches
/// are at least one user in `users / DENSE`.
const DENSE: i64 = 50_000;

/// How many users the index finds, counting up to `most`; some of them may
/// not hold the term ([`Search::holds`]).
fn found_up_to(conn: &Connection, search: &Search, most: i64) -> Result<i64, StoreError> {
    let table = search.table;
    let sql = format!(
        "SELECT count(*) FROM (SELECT rowid FROM {table} WHERE {table} MATCH ?1 \
         LIMIT CAST(?2 AS INTEGER))"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(store_error)?;
    stmt.query_row(rusqlite::params![&search.expression, most], |row| {
        row.get(0)
    })
    .map_err(store_error)
}

/// A search by name or email, walking the order's index from the cursor on
/// and testing each user, until a page is full. `None` if `budget` users
/// were walked first.
fn scan_by_key(
    conn: &Connection,
    query: &ListQuery,
    budget: Option<usize>,
) -> Result<Option<Page>, StoreError> {
    let wanted = query.limit as usize + 1;
    let mut users = Vec::with_capacity(wanted);
    let mut walked = 0;
    by_key_rows(conn, query, None, -1, |user| {
        walked += 1;
        if query.selects(&user) {
            users.push(user);
        }
        users.len() < wanted && budget.is_none_or(|budget| walked < budget)
    })?;
    if users.len() < wanted && budget.is_some_and(|budget| walked >= budget) {
        return Ok(None);
    }
    Ok(Some(Page::cut(users, query.limit, query.sort.key)))
}

/// By name or email, with or without a search.
fn by_key(
    conn: &Connection,
    query: &ListQuery,
    search: Option<&Search>,
) -> Result<Page, StoreError> {
    let wanted = query.limit as usize + 1;
    let mut users = Vec::with_capacity(wanted);
    // A search reads every user the index finds (see `search_by_key`), as
    // some of them may not hold the term.
    let limit = match search {
        None => i64::from(query.limit) + 1,
        Some(_) => -1,
    };
    by_key_rows(conn, query, search, limit, |user| {
        if search.is_none_or(|search| search.holds(&user)) {
            users.push(user);
        }
        users.len() < wanted
    })?;
    if search.is_some() {
        let after = query.after.as_ref();
        users.extend(
            unindexed(conn, query)?
                .into_iter()
                .filter(|user| after.is_none_or(|at| comes_after(user, at, query.sort))),
        );
        sort(&mut users, query.sort);
        users.truncate(query.limit as usize + 1);
    }
    Ok(Page::cut(users, query.limit, query.sort.key))
}

/// Reads users in the order of `query.sort` (a name or email sort) from
/// its cursor on, within its dates and `search`'s matches (if any), at
/// most `limit` (-1: no limit), handing each to `take` until it says stop.
fn by_key_rows(
    conn: &Connection,
    query: &ListQuery,
    search: Option<&Search>,
    limit: i64,
    mut take: impl FnMut(User) -> bool,
) -> Result<(), StoreError> {
    let order = direction(query.sort.descending);
    let beyond = if query.sort.descending { "<" } else { ">" };
    let (order_by, keyset) = match query.sort.key {
        SortKey::Name => (
            format!("users.name COLLATE NOCASE {order}, users.id {order}"),
            format!("(users.name COLLATE NOCASE, users.id) {beyond} (:key, :id)"),
        ),
        _ => (
            format!("users.email {order}"),
            format!("users.email {beyond} :key"),
        ),
    };
    // `+` keeps the planner off the created_at index: the order's index
    // bounds the page, the dates only filter.
    let mut conditions =
        vec!["+users.created_at > :after_at AND +users.created_at < :before_at".to_owned()];
    let from = match search {
        None => "users".to_owned(),
        Some(search) => {
            let table = search.table;
            conditions.push(format!("{table} MATCH :search"));
            format!("{table} CROSS JOIN users ON users.search_doc = {table}.rowid")
        }
    };
    let (key, id) = match &query.after {
        Some(Position::Name { name, id }) => (Some(name.as_str()), Some(id.as_bytes().to_vec())),
        Some(Position::Email { email }) => (Some(email.as_str()), None),
        _ => (None, None),
    };
    if key.is_some() {
        conditions.push(keyset);
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM {from} WHERE {} ORDER BY {order_by} LIMIT CAST(:limit AS INTEGER)",
        conditions.join(" AND ")
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(store_error)?;
    let after_at = query.created_after.map_or(i64::MIN, |at| at.unix_micros());
    let before_at = query.created_before.map_or(i64::MAX, |at| at.unix_micros());
    let search = search.map(|s| s.expression.as_str());
    let mut params: Vec<(&str, &dyn rusqlite::ToSql)> = vec![
        (":after_at", &after_at),
        (":before_at", &before_at),
        (":limit", &limit),
    ];
    if let Some(search) = &search {
        params.push((":search", search));
    }
    if let Some(key) = &key {
        params.push((":key", key));
        if let Some(id) = &id {
            params.push((":id", id));
        }
    }
    let mut rows = stmt.query(params.as_slice()).map_err(store_error)?;
    while let Some(row) = rows.next().map_err(store_error)? {
        if !take(read_row(row).map_err(store_error)??) {
            break;
        }
    }
    Ok(())
}

/// The users not in the search index yet that the query selects (its
/// position aside).
fn unindexed(conn: &Connection, query: &ListQuery) -> Result<Vec<User>, StoreError> {
    const SQL: &str = "SELECT users.id, users.email, users.name, users.created_at, \
        users.updated_at, users.version FROM users_search_pending CROSS JOIN users \
        ON users.search_doc = users_search_pending.doc";
    let mut stmt = conn.prepare_cached(SQL).map_err(store_error)?;
    let rows = stmt.query_map([], read_row).map_err(store_error)?;
    let mut users = collect(rows)?;
    users.retain(|user| query.selects(user));
    Ok(users)
}

/// Sorts like the database does: names by SQLite's NOCASE (ASCII letters
/// folded), everything else by bytes; ties by id.
fn sort(users: &mut [User], sort: Sort) {
    users.sort_unstable_by(|a, b| {
        let order = key_of(a, sort.key).cmp(&key_of(b, sort.key));
        if sort.descending {
            order.reverse()
        } else {
            order
        }
    });
}

/// Whether `user` comes after `position` in `sort`.
fn comes_after(user: &User, position: &Position, sort: Sort) -> bool {
    let at = match position {
        Position::Created { created_at, id } => Key::Created(*created_at, *id.as_bytes()),
        Position::Name { name, id } => Key::Name(nocase(name), *id.as_bytes()),
        Position::Email { email } => Key::Email(email.as_bytes().to_vec()),
    };
    let order = key_of(user, sort.key).cmp(&at);
    if sort.descending {
        order.is_lt()
    } else {
        order.is_gt()
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Created(Timestamp, [u8; 16]),
    Name(Vec<u8>, [u8; 16]),
    Email(Vec<u8>),
}

fn key_of(user: &User, key: SortKey) -> Key {
    match key {
        SortKey::CreatedAt => Key::Created(user.created_at, *user.id.as_bytes()),
        SortKey::Name => Key::Name(nocase(user.name.as_str()), *user.id.as_bytes()),
        SortKey::Email => Key::Email(user.email.as_str().as_bytes().to_vec()),
    }
}

fn nocase(text: &str) -> Vec<u8> {
    text.bytes().map(|b| b.to_ascii_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;
    use crate::domain::{Email, NewUser, UserName};
    use crate::storage::Sort;

    /// An in-memory database with a user per `(email, name, created_at)`.
    fn database_with(users: impl Iterator<Item = (String, String, i64)>) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate::apply(&mut conn).unwrap();
        for (email, name, micros) in users {
            let new = NewUser {
                email: Email::parse(&email).unwrap(),
                name: UserName::parse(&name).unwrap(),
            };
            let at = Timestamp::from_unix_micros(micros);
            super::super::queries::insert(&conn, &User::create(new, at)).unwrap();
        }
        conn
    }

    /// `count` users, every `every`th named `rare` and the rest `common`,
    /// all in the search index.
    fn indexed_users_named(count: i64, every: i64, rare: &str, common: &str) -> Connection {
        let conn = database_with((0..count).map(|n| {
            let name = if n % every == 0 { rare } else { common };
            let at = 1_700_000_000_000_000 + n * 10;
            (format!("user{n}@example.com"), name.to_owned(), at)
        }));
        search_index::index_pending(&conn, usize::MAX).unwrap();
        conn
    }

    /// Every page of `query`, following its cursors.
    fn pages(conn: &Connection, query: &ListQuery) -> Vec<Page> {
        let mut query = query.clone();
        let mut pages = Vec::new();
        loop {
            let page = list(conn, &query).unwrap();
            query.after = page.next.clone();
            pages.push(page);
            if query.after.is_none() {
                return pages;
            }
        }
    }

    #[test]
    fn a_list_statement_is_compiled_once_and_bounded_by_the_index() {
        let conn = database_with((0..30).map(|n| {
            (
                format!("u{n}@example.com"),
                "U".to_owned(),
                1_700_000_000_000_000 + n,
            )
        }));
        for sort in ["-created_at", "created_at"] {
            let mut query = ListQuery {
                sort: Sort::parse(sort).unwrap(),
                ..ListQuery::first(10)
            };
            let mut seen = 0;
            for page in 0.. {
                let listed = list(&conn, &query).unwrap();
                seen += listed.users.len();
                query.limit = 10 + page; // a different value each time, too
                match listed.next {
                    Some(next) => query.after = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen, 30, "{sort}");
        }
        for descending in [true, false] {
            let sql = by_time_sql(descending);
            let stmt = conn.prepare_cached(sql).unwrap();
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "{sql}");
            assert!(stmt.get_status(StatementStatus::Run) >= 1, "{sql}");
            drop(stmt);
            let plan: String = conn
                .query_row(&format!("EXPLAIN QUERY PLAN {sql}"), named_params! {
                    ":after_at": 0, ":after_id": 0, ":before_at": 0, ":before_id": 0, ":limit": 1,
                }, |row| row.get(3))
                .unwrap();
            assert!(
                plan.contains("users_created_at_id_idx")
                    && plan.contains("(created_at,id)>(?,?) AND (created_at,id)<(?,?)"),
                "{plan}"
            );
        }
    }

    /// A newest-first search reads a page of matches from the index and the
    /// rest of the last one's millisecond, not every match. (Issue 22 added
    /// a column before the search number, and for a while every search read
    /// all its matches: 100 ms per page of a common term at 1M users.)
    #[test]
    fn a_newest_first_search_reads_about_a_page_of_its_matches() {
        // Ten users per millisecond.
        let conn = database_with((0..3_000).map(|n| {
            let at = 1_700_000_000_000_000 + n * 100;
            (format!("user{n}@example.com"), "Common Name".to_owned(), at)
        }));
        search_index::index_pending(&conn, usize::MAX).unwrap();
        let query = ListQuery {
            search: Some(SearchTerm::parse("common").unwrap()),
            ..ListQuery::first(20)
        };
        let page = list(&conn, &query).unwrap();
        assert_eq!(page.users.len(), 20);
        assert!(page.next.is_some());
        let newest = page.users.first().unwrap().created_at.unix_micros();
        assert_eq!(newest, 1_700_000_000_000_000 + 2_999 * 100);

        let sql = search_by_time_sql("users_search", true);
        let mut stmt = conn.prepare_cached(&sql).unwrap();
        assert_eq!(stmt.get_status(StatementStatus::Run), 1, "{sql}");
        let steps_for_a_page = stmt.get_status(StatementStatus::VmStep);
        // The same statement reading every match, for scale.
        stmt.reset_status(StatementStatus::VmStep);
        let span = Span::of(&query);
        let search = Search::of(query.search.as_ref().unwrap());
        let values = SearchByTime::of(&search, &span);
        let all = stmt
            .query_map(values.params().as_slice(), |_| Ok(()))
            .unwrap()
            .count();
        assert_eq!(all, 3_000);
        let steps_for_all = stmt.get_status(StatementStatus::VmStep);
        assert!(
            steps_for_a_page * 50 < steps_for_all,
            "a page of 20 took {steps_for_a_page} steps, all 3,000 matches {steps_for_all}"
        );
    }

    /// The index keeps no positions: "Abcx Bcde" holds every trigram of
    /// "abcde" (abc, bcd, cde) but not "abcde". Such users are found by
    /// the index and must not be listed, in any order, in full pages.
    #[test]
    fn users_with_a_terms_trigrams_but_not_the_term_are_not_listed() {
        let conn = indexed_users_named(300, 3, "Abcde Holder", "Abcx Bcde");
        let pending: i64 = conn
            .query_row("SELECT count(*) FROM users_search_pending", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(pending, 0, "every user is in the index");
        for sort in ["-created_at", "created_at", "name", "-email"] {
            let query = ListQuery {
                search: Some(SearchTerm::parse("ABCDE").unwrap()),
                sort: Sort::parse(sort).unwrap(),
                ..ListQuery::first(7)
            };
            let mut seen = Vec::new();
            for page in pages(&conn, &query) {
                assert!(
                    page.users.len() == 7 || page.next.is_none(),
                    "{sort}: a page of {} before the last",
                    page.users.len()
                );
                seen.extend(page.users);
            }
            assert_eq!(seen.len(), 100, "{sort}");
            assert!(
                seen.iter().all(|u| u.name.as_str() == "Abcde Holder"),
                "{sort}"
            );
        }
    }

    /// Matches that sit together at the end of the name order: the walk
    /// gives up after its budget and the sort answers, page after page.
    #[test]
    fn a_search_whose_matches_cluster_in_name_order_is_sorted_after_a_short_walk() {
        let conn = indexed_users_named(10_000, 4, "Zoe Rare", "Adam Common");
        let query = ListQuery {
            search: Some(SearchTerm::parse("zoe").unwrap()),
            sort: Sort::parse("name").unwrap(),
            ..ListQuery::first(50)
        };
        // 2,500 found; even a walk of twice that (the most `search_by_key`
        // allows) never reaches the first Zoe, after 7,500 Adams.
        assert_eq!(scan_by_key(&conn, &query, Some(5_000)).unwrap(), None);
        let walked = scan_by_key(&conn, &query, None).unwrap().unwrap();
        assert_eq!(walked.users.len(), 50);
        let seen: Vec<User> = pages(&conn, &query)
            .into_iter()
            .flat_map(|page| page.users)
            .collect();
        assert_eq!(seen.len(), 2_500);
        assert!(seen.iter().all(|u| u.name.as_str() == "Zoe Rare"));
        assert!(seen.windows(2).all(|w| w[0].id < w[1].id), "ties by id");
        assert_eq!(seen[..50], walked.users[..]);
    }

    #[test]
    fn the_search_number_is_read_from_the_column_after_the_users() {
        assert_eq!(AFTER_COLUMNS, 6);
        assert_eq!(column_count("a"), 1);
    }

    /// A search with many matches sorted by name walks the name index; one
    /// with few sorts its matches; both page through every match once, in
    /// order, with some users still waiting for the index.
    #[test]
    fn searches_sorted_by_name_page_exactly_with_many_and_few_matches() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate::apply(&mut conn).unwrap();
        let names = ["Zed", "ada", "Bob", "carl", "Émile", "dora"];
        for n in 0..2_600 {
            let name = format!(
                "{} {}",
                names[n % names.len()],
                if n % 10 == 0 { "Rare" } else { "Common" }
            );
            let new = NewUser {
                email: Email::parse(&format!("user{n}@example.com")).unwrap(),
                name: UserName::parse(&name).unwrap(),
            };
            let user = User::create(
                new,
                Timestamp::from_unix_micros(1_700_000_000_000_000 + n as i64 * 10),
            );
            super::super::queries::insert(&conn, &user).unwrap();
            if n == 2_500 {
                search_index::index_pending(&conn, usize::MAX).unwrap();
            }
        }
        for (term, expected) in [("common", 2_340), ("rare", 260)] {
            for sort in ["name", "-name", "-email"] {
                let query = ListQuery {
                    search: Some(SearchTerm::parse(term).unwrap()),
                    sort: Sort::parse(sort).unwrap(),
                    ..ListQuery::first(97)
                };
                let seen: Vec<User> = pages(&conn, &query)
                    .into_iter()
                    .flat_map(|page| page.users)
                    .collect();
                assert_eq!(seen.len(), expected, "{term} {sort}");
                let mut sorted = seen.clone();
                super::sort(&mut sorted, query.sort);
                assert_eq!(seen, sorted, "{term} {sort}");
                assert!(seen.iter().all(|u| query.selects(u)), "{term} {sort}");
            }
        }
    }
}
