//! `SearchTerm`: what `GET /users?q=` looks for, checked and folded.

use super::User;

/// A trimmed search text of 1 to [`SearchTerm::MAX_CHARS`] code points
/// without control characters, kept lower-cased: search ignores case.
///
/// Three or more characters match as a substring of the name or the email;
/// one or two match as the prefix of a word (a run of letters and digits)
/// of either, because a substring that short would match nearly everyone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchTerm(String);

/// How a term is matched: see [`SearchTerm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKind {
    Substring,
    WordPrefix,
}

/// Why a `q` was refused; the text is what clients see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSearch {
    #[error("q must not be empty")]
    Empty,
    #[error("q must be at most {max} characters")]
    TooLong { max: usize },
    #[error("q must not contain control characters")]
    ControlCharacters,
}

impl SearchTerm {
    pub const MAX_CHARS: usize = 100;
    /// Terms shorter than this match word prefixes, not substrings.
    pub const SUBSTRING_MIN_CHARS: usize = 3;

    pub fn parse(raw: &str) -> Result<Self, InvalidSearch> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(InvalidSearch::Empty);
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(InvalidSearch::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidSearch::ControlCharacters);
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    /// The folded text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> SearchKind {
        if self.0.chars().count() < Self::SUBSTRING_MIN_CHARS {
            SearchKind::WordPrefix
        } else {
            SearchKind::Substring
        }
    }

    /// Whether a word can start with this term at all: a word prefix that
    /// holds a character no word has matches nobody.
    pub fn is_word_prefix(&self) -> bool {
        self.0.chars().all(char::is_alphanumeric)
    }

    /// Whether `user` matches: the rule the indexes answer, for the one
    /// user that an exact `email` filter finds.
    pub fn matches(&self, user: &User) -> bool {
        let fields = [user.name.as_str(), user.email.as_str()];
        match self.kind() {
            SearchKind::Substring => fields
                .iter()
                .any(|field| field.to_lowercase().contains(&self.0)),
            SearchKind::WordPrefix => {
                self.is_word_prefix()
                    && fields.iter().any(|field| {
                        field
                            .to_lowercase()
                            .split(|c: char| !c.is_alphanumeric())
                            .any(|word| word.starts_with(&self.0))
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, NewUser, Timestamp, UserName};

    fn user(name: &str, email: &str) -> User {
        let new = NewUser {
            email: Email::parse(email).unwrap(),
            name: UserName::parse(name).unwrap(),
        };
        User::create(new, Timestamp::from_unix_micros(0))
    }

    #[test]
    fn a_term_is_trimmed_and_folded() {
        let term = SearchTerm::parse("  MÜLler ").unwrap();
        assert_eq!(term.as_str(), "müller");
        assert_eq!(term.kind(), SearchKind::Substring);
        assert_eq!(
            SearchTerm::parse("Ad").unwrap().kind(),
            SearchKind::WordPrefix
        );
    }

    #[test]
    fn bad_terms_say_why() {
        assert_eq!(SearchTerm::parse("   "), Err(InvalidSearch::Empty));
        assert_eq!(
            SearchTerm::parse(&"x".repeat(101)),
            Err(InvalidSearch::TooLong { max: 100 })
        );
        assert!(SearchTerm::parse(&"ü".repeat(100)).is_ok());
        assert_eq!(
            SearchTerm::parse("a\u{0}b"),
            Err(InvalidSearch::ControlCharacters)
        );
    }

    #[test]
    fn substrings_and_word_prefixes_match_as_documented() {
        let ada = user("Ada Lovelace", "ada.byron@example.com");
        for (q, expected) in [
            ("LACE", true),
            ("a lo", true),
            ("byron@ex", true),
            ("lo", true),
            ("by", true),
            ("ov", false),
            ("e.", false),
            ("xyz", false),
        ] {
            let term = SearchTerm::parse(q).unwrap();
            assert_eq!(term.matches(&ada), expected, "{q:?}");
        }
    }
}
