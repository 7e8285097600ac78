//! Pages of `GET /users` on PostgreSQL. Each order has its index: the
//! `(created_at, id)` one, `(lower(name), id)` and the unique
//! `lower(email)`; a search is answered by a GIN index over trigrams (3 or
//! more characters: pg_trgm's, or migration 2's where pg_trgm could not be
//! had) or over the words (1 or 2) and its matches sorted, or, for a term
//! that matches many, by walking the order's index and testing each user:
//! the planner chooses per term. Statements are built from fixed
//! fragments; every value is a bound parameter.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::error::store_error;
use super::queries::{read_row, to_datetime, SELECT};
use super::search_index::SubstringIndex;
use crate::domain::{SearchKind, Timestamp};
use crate::storage::{ListQuery, Page, Position, SortKey, StoreError};

const DOCUMENT: &str = "lower(name) || chr(10) || lower(email)";
const WORDS: &str =
    "to_tsvector('simple', translate(lower(name) || ' ' || lower(email), '@.+_-', '     '))";

/// The statement's text and its values, numbered as they are added.
#[derive(Default)]
struct Statement {
    conditions: Vec<String>,
    values: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Statement {
    /// Adds a value; returns its placeholder.
    fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.values.push(Box::new(value));
        format!("${}", self.values.len())
    }

    fn and(&mut self, condition: String) {
        self.conditions.push(condition);
    }
}

pub(super) async fn list(
    client: &impl GenericClient,
    query: &ListQuery,
    substring_index: SubstringIndex,
) -> Result<Page, StoreError> {
    if query.selects_nobody() {
        return Ok(Page::empty());
    }
    let mut statement = Statement::default();
    if let Some(email) = &query.email {
        let email = statement.bind(email.as_str().to_owned());
        statement.and(format!("lower(email) = lower({email})"));
    }
    if let Some(term) = &query.search {
        match term.kind() {
            // The term is lowered by PostgreSQL, as the document is, so
            // both agree whatever the database's ctype.
            SearchKind::Substring => match substring_index {
                SubstringIndex::PgTrgm => {
                    let term = statement.bind(like_literal(term.as_str()));
                    statement.and(format!("{DOCUMENT} LIKE '%' || lower({term}) || '%'"));
                }
                SubstringIndex::SqlFunction => {
                    let term = statement.bind(term.as_str().to_owned());
                    statement.and(format!(
                        "users_trigrams({DOCUMENT}) @> users_trigrams(lower({term})) \
                         AND strpos({DOCUMENT}, lower({term})) > 0"
                    ));
                }
            },
            // Letters and digits only (`ListQuery::selects_nobody`), so
            // the text is no tsquery syntax.
            SearchKind::WordPrefix => {
                let prefix = statement.bind(format!("{}:*", term.as_str()));
                statement.and(format!("{WORDS} @@ to_tsquery('simple', {prefix})"));
            }
        }
    }
    let order = if query.sort.descending { "DESC" } else { "ASC" };
    let beyond = if query.sort.descending { "<" } else { ">" };
    let order_by = match query.sort.key {
        SortKey::CreatedAt => {
            bound_by_time(&mut statement, query)?;
            format!("created_at {order}, id {order}")
        }
        SortKey::Name => {
            filter_by_time(&mut statement, query)?;
            if let Some(Position::Name { name, id }) = &query.after {
                let name = statement.bind(name.clone());
                let id = statement.bind(id.as_uuid());
                statement.and(format!("(lower(name), id) {beyond} (lower({name}), {id})"));
            }
            format!("lower(name) {order}, id {order}")
        }
        SortKey::Email => {
            filter_by_time(&mut statement, query)?;
            if let Some(Position::Email { email }) = &query.after {
                let email = statement.bind(email.clone());
                statement.and(format!("lower(email) {beyond} lower({email})"));
            }
            format!("lower(email) {order}")
        }
    };
    let limit = statement.bind(i64::from(query.limit) + 1);
    let filter = if statement.conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", statement.conditions.join(" AND "))
    };
    let sql = format!("{SELECT}{filter} ORDER BY {order_by} LIMIT {limit}");
    let values: Vec<&(dyn ToSql + Sync)> = statement
        .values
        .iter()
        .map(|value| value.as_ref() as &(dyn ToSql + Sync))
        .collect();
    // A search is planned for its term each time (an unnamed statement):
    // whether to read its matches from the trigram index and sort them, or
    // walk the order's index and test each user, depends on how many users
    // the term matches. A cached statement would settle on one generic plan
    // after five runs, and for a rare term that walk reads the whole table.
    let rows = if query.search.is_some() {
        client.query(sql.as_str(), &values).await
    } else {
        let prepared = client.prepare_cached(&sql).await.map_err(store_error)?;
        client.query(&prepared, &values).await
    }
    .map_err(store_error)?;
    let users = rows.iter().map(read_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::cut(users, query.limit, query.sort.key))
}

/// `text` as a `LIKE` pattern that matches exactly it: the wildcards and
/// the escape character (backslash, LIKE's default) escaped.
fn like_literal(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern
}

/// The `(created_at, id)` range of a page in `created_at` order: the date
/// filters and the cursor, as index bounds.
fn bound_by_time(statement: &mut Statement, query: &ListQuery) -> Result<(), StoreError> {
    let mut after = query.created_after.map(|at| (at, Uuid::max()));
    let mut before = query.created_before.map(|at| (at, Uuid::nil()));
    if let Some(Position::Created { created_at, id }) = &query.after {
        let at = (*created_at, id.as_uuid());
        if query.sort.descending {
            before = Some(before.map_or(at, |b| b.min(at)));
        } else {
            after = Some(after.map_or(at, |a| a.max(at)));
        }
    }
    for (bound, op) in [(after, ">"), (before, "<")] {
        if let Some((at, id)) = bound {
            let at = statement.bind(to_datetime(at)?);
            let id = statement.bind(id);
            statement.and(format!("(created_at, id) {op} ({at}, {id})"));
        }
    }
    Ok(())
}

/// The date filters of a page in another order: filters, not bounds.
fn filter_by_time(statement: &mut Statement, query: &ListQuery) -> Result<(), StoreError> {
    let bounds: [(Option<Timestamp>, &str); 2] =
        [(query.created_after, ">"), (query.created_before, "<")];
    for (bound, op) in bounds {
        if let Some(at) = bound {
            let at = statement.bind(to_datetime(at)?);
            statement.and(format!("created_at {op} {at}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::like_literal;

    #[test]
    fn like_wildcards_and_the_escape_character_are_matched_literally() {
        assert_eq!(like_literal("mül"), "mül");
        assert_eq!(like_literal("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
