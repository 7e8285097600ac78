//! What a page of `GET /users` asks the storage for: filters, search, sort
//! and the position to start after; and what comes back.

use crate::domain::{Email, Fnv, SearchKind, SearchTerm, Timestamp, User, UserId};

/// The column a listing is ordered by. Ties break by id in the same
/// direction; email is unique, so it has no ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    CreatedAt,
    /// Case-insensitive.
    Name,
    Email,
}

/// A listing's order: `-created_at` (the default), `created_at`, `name`,
/// `-name`, `email`, `-email`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

/// The text is none of the orders [`Sort::parse`] knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sort must be one of {}", Sort::NAMES.join(", "))]
pub struct UnknownSort;

impl Sort {
    pub const NEWEST_FIRST: Sort = Sort {
        key: SortKey::CreatedAt,
        descending: true,
    };

    /// Every order, by the name a client writes, in a fixed order: a
    /// sort's index in this list is its number in a listing's scope.
    pub const NAMES: [&'static str; 6] = [
        "-created_at",
        "created_at",
        "name",
        "-name",
        "email",
        "-email",
    ];

    /// The orders of [`Sort::NAMES`], in the same places.
    const ALL: [Sort; 6] = [
        Sort::NEWEST_FIRST,
        Sort {
            key: SortKey::CreatedAt,
            descending: false,
        },
        Sort {
            key: SortKey::Name,
            descending: false,
        },
        Sort {
            key: SortKey::Name,
            descending: true,
        },
        Sort {
            key: SortKey::Email,
            descending: false,
        },
        Sort {
            key: SortKey::Email,
            descending: true,
        },
    ];

    pub fn parse(raw: &str) -> Result<Self, UnknownSort> {
        Self::NAMES
            .iter()
            .position(|name| *name == raw)
            .map(|n| Self::ALL[n])
            .ok_or(UnknownSort)
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[usize::from(self.number())]
    }

    pub(super) fn number(self) -> u8 {
        Self::ALL.iter().position(|sort| *sort == self).unwrap_or(0) as u8
    }
}

impl Default for Sort {
    fn default() -> Self {
        Self::NEWEST_FIRST
    }
}

/// Where a page ends: the sort key of its last user, and the id that
/// breaks ties. The next page starts strictly after it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Position {
    Created {
        created_at: Timestamp,
        id: UserId,
    },
    /// The stored name; backends compare it the way they sort names.
    Name {
        name: String,
        id: UserId,
    },
    Email {
        email: String,
    },
}

impl Position {
    /// The position of `user` in a listing sorted by `key`.
    pub fn of(user: &User, key: SortKey) -> Self {
        match key {
            SortKey::CreatedAt => Self::Created {
                created_at: user.created_at,
                id: user.id,
            },
            SortKey::Name => Self::Name {
                name: user.name.as_str().to_owned(),
                id: user.id,
            },
            SortKey::Email => Self::Email {
                email: user.email.as_str().to_owned(),
            },
        }
    }

    /// The sort key this position is a position in.
    pub fn key(&self) -> SortKey {
        match self {
            Self::Created { .. } => SortKey::CreatedAt,
            Self::Name { .. } => SortKey::Name,
            Self::Email { .. } => SortKey::Email,
        }
    }
}

/// One page of a listing. The caller has checked every value; `after`, if
/// any, is a position in `sort`'s key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// How many users at most.
    pub limit: u32,
    /// Only the user with this email, if any.
    pub email: Option<Email>,
    /// Only users that match this term.
    pub search: Option<SearchTerm>,
    pub sort: Sort,
    /// Only users created strictly after this instant.
    pub created_after: Option<Timestamp>,
    /// Only users created strictly before this instant.
    pub created_before: Option<Timestamp>,
    /// Start after this position (exclusive); `None` starts at the first.
    pub after: Option<Position>,
}

impl ListQuery {
    /// The first page of every user, newest first.
    pub fn first(limit: u32) -> Self {
        Self {
            limit,
            email: None,
            search: None,
            sort: Sort::NEWEST_FIRST,
            created_after: None,
            created_before: None,
            after: None,
        }
    }

    /// A fingerprint of what the listing selects and its order (not where
    /// it starts): a cursor carries it, so a cursor pages only the listing
    /// that issued it.
    pub fn scope(&self) -> u64 {
        let mut hash = Fnv::new();
        hash.write(&[self.sort.number()]);
        hash.write_field(self.email.as_ref().map(|e| e.as_str().as_bytes()));
        hash.write_field(self.search.as_ref().map(|s| s.as_str().as_bytes()));
        for bound in [self.created_after, self.created_before] {
            hash.write_field(bound.map(|at| at.unix_micros().to_be_bytes()).as_ref());
        }
        hash.finish()
    }

    /// Whether the page is empty before any database is asked: the search
    /// is a word prefix that no word can start with, or the page follows
    /// the only user an email selects (such a listing has one page).
    pub fn selects_nobody(&self) -> bool {
        let no_word = self
            .search
            .as_ref()
            .is_some_and(|term| term.kind() == SearchKind::WordPrefix && !term.is_word_prefix());
        no_word || (self.email.is_some() && self.after.is_some())
    }

    /// Whether `user` belongs on this listing's pages, the position aside.
    pub fn selects(&self, user: &User) -> bool {
        self.email.as_ref().is_none_or(|e| *e == user.email)
            && self.search.as_ref().is_none_or(|s| s.matches(user))
            && self.created_after.is_none_or(|at| user.created_at > at)
            && self.created_before.is_none_or(|at| user.created_at < at)
    }
}

/// A page of users, and where the next page starts if more follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub users: Vec<User>,
    pub next: Option<Position>,
}

impl Page {
    pub fn empty() -> Self {
        Self {
            users: Vec::new(),
            next: None,
        }
    }

    /// The page of the first `limit` of `users`, which hold one more when
    /// another page follows.
    pub fn cut(mut users: Vec<User>, limit: u32, key: SortKey) -> Self {
        let next = if users.len() > limit as usize {
            users.truncate(limit as usize);
            users.last().map(|user| Position::of(user, key))
        } else {
            None
        };
        Self { users, next }
    }
}

/// Where a walk of every user, newest first, stands: the query for its
/// next page, until a page says none follows. Snapshots page with it.
#[derive(Debug, Default)]
pub struct PageWalk {
    after: Option<Position>,
    done: bool,
}

impl PageWalk {
    /// The next page's query, or `None` once every user was read.
    pub fn next_query(&mut self, limit: u32) -> Option<ListQuery> {
        (!self.done).then(|| ListQuery {
            after: self.after.take(),
            ..ListQuery::first(limit)
        })
    }

    /// Takes a page read with [`PageWalk::next_query`]; returns its users.
    pub fn advance(&mut self, page: Page) -> Vec<User> {
        self.done = page.next.is_none();
        self.after = page.next;
        page.users
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sort_parses_from_its_name_and_back() {
        for name in Sort::NAMES {
            let sort = Sort::parse(name).unwrap();
            assert_eq!(sort.name(), name);
            assert_eq!(Sort::ALL.get(usize::from(sort.number())), Some(&sort));
        }
        assert_eq!(Sort::default().name(), "-created_at");
        for bad in ["", "created", "+name", "NAME", "-", "name,email"] {
            assert_eq!(Sort::parse(bad), Err(UnknownSort), "{bad:?}");
        }
    }

    #[test]
    fn the_scope_differs_for_every_filter_and_order_but_not_for_the_limit() {
        let base = ListQuery::first(10);
        let others = [
            ListQuery {
                sort: Sort::parse("name").unwrap(),
                ..base.clone()
            },
            ListQuery {
                search: Some(SearchTerm::parse("ada").unwrap()),
                ..base.clone()
            },
            ListQuery {
                search: Some(SearchTerm::parse("adb").unwrap()),
                ..base.clone()
            },
            ListQuery {
                email: Some(Email::parse("ada@example.com").unwrap()),
                ..base.clone()
            },
            ListQuery {
                created_after: Some(Timestamp::from_unix_micros(1)),
                ..base.clone()
            },
            ListQuery {
                created_before: Some(Timestamp::from_unix_micros(1)),
                ..base.clone()
            },
        ];
        let mut scopes: Vec<u64> = others.iter().map(ListQuery::scope).collect();
        scopes.push(base.scope());
        scopes.sort_unstable();
        scopes.dedup();
        assert_eq!(scopes.len(), others.len() + 1);
        let larger = ListQuery {
            limit: 500,
            ..base.clone()
        };
        assert_eq!(larger.scope(), base.scope());
    }
}
