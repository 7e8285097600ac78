//! Entity tags of users and the `If-Match` / `If-None-Match` conditions
//! that compare against them (RFC 9110 §8.8.3, §13.1.1-2).

use super::timestamp::write_digits;
use super::{Fnv, User};

/// The strong entity tag of a user as it is now, quotes included:
/// `"<version>-<16 hex digits>"`. The hex digits hash the version and every
/// field, so a user that was deleted and imported again with the same id
/// and version but other values still gets another tag; the same user has
/// the same tag on every instance and either backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag(String);

impl EntityTag {
    pub fn of(user: &User) -> Self {
        let mut hash = Fnv::new();
        hash.write(user.id.as_bytes());
        hash.write(&user.version.get().to_be_bytes());
        hash.write(&user.created_at.unix_micros().to_be_bytes());
        hash.write(&user.updated_at.unix_micros().to_be_bytes());
        hash.write_field(Some(user.email.as_str()));
        hash.write_field(Some(user.name.as_str()));
        Self(quoted(user.version.get(), hash.finish()))
    }

    /// The header value, quotes included.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The opaque tag without its quotes.
    fn opaque(&self) -> &[u8] {
        let bytes = self.0.as_bytes();
        &bytes[1..bytes.len() - 1]
    }
}

/// `"<version>-<hash as 16 hex digits>"`, written by hand: through
/// `format!` a GET cost ~800 instructions more, 2.3 % of all of them
/// (`benches/instructions.py --method get`).
fn quoted(version: u64, hash: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // u64::MAX has 20 decimal digits.
    let mut decimal = [0u8; 20];
    let digits = version.checked_ilog10().map_or(1, |log| log as usize + 1);
    write_digits(&mut decimal[..digits], version);
    let mut tag = String::with_capacity(40);
    tag.push('"');
    tag.extend(decimal[..digits].iter().map(|&digit| char::from(digit)));
    tag.push('-');
    tag.extend(
        (0..16)
            .rev()
            .map(|i| char::from(HEX[(hash >> (4 * i)) as usize & 0xf])),
    );
    tag.push('"');
    tag
}

/// An `If-Match` or `If-None-Match` header: `*`, or a list of entity tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagCondition {
    /// `*`: any current representation.
    Any,
    Tags(Vec<ListedTag>),
}

/// One entity tag of a list, as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedTag {
    weak: bool,
    /// Between the quotes.
    opaque: Vec<u8>,
}

/// A header value that is neither `*` nor a list of entity tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "must be * or a comma-separated list of quoted entity tags, such as \"1-0a1b2c3d4e5f6a7b\""
)]
pub struct InvalidTagList;

impl TagCondition {
    /// The condition of every line of one header together (RFC 9110 joins
    /// repeated lines into one list); `None` when there is none.
    pub fn parse<'a>(
        lines: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Option<Self>, InvalidTagList> {
        let mut condition: Option<Self> = None;
        for line in lines {
            let line = line.trim_ascii();
            let next = if line == b"*" {
                Self::Any
            } else {
                Self::Tags(parse_list(line)?)
            };
            condition = Some(match (condition, next) {
                (None, next) => next,
                (Some(Self::Tags(mut tags)), Self::Tags(more)) => {
                    tags.extend(more);
                    Self::Tags(tags)
                }
                // `*` stands alone.
                (Some(_), _) => return Err(InvalidTagList),
            });
        }
        Ok(condition)
    }

    /// `If-Match`: the strong comparison, so a weak tag never matches.
    pub fn matches_strongly(&self, current: &EntityTag) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags
                .iter()
                .any(|tag| !tag.weak && tag.opaque == current.opaque()),
        }
    }

    /// `If-None-Match`: the weak comparison (`W/` is ignored).
    pub fn matches_weakly(&self, current: &EntityTag) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|tag| tag.opaque == current.opaque()),
        }
    }
}

/// `1#entity-tag`; empty elements between commas are allowed, a list with
/// no tag at all is not.
fn parse_list(mut rest: &[u8]) -> Result<Vec<ListedTag>, InvalidTagList> {
    let mut tags = Vec::new();
    loop {
        rest = rest.trim_ascii_start();
        match rest.first() {
            None => break,
            Some(b',') => {
                rest = &rest[1..];
                continue;
            }
            Some(_) => {}
        }
        let (weak, quoted) = match rest.strip_prefix(b"W/") {
            Some(quoted) => (true, quoted),
            None => (false, rest),
        };
        let Some(body) = quoted.strip_prefix(b"\"") else {
            return Err(InvalidTagList);
        };
        let end = body.iter().position(|&b| b == b'"').ok_or(InvalidTagList)?;
        let opaque = &body[..end];
        // etagc: %x21 / %x23-7E / obs-text
        if !opaque
            .iter()
            .all(|&b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
        {
            return Err(InvalidTagList);
        }
        tags.push(ListedTag {
            weak,
            opaque: opaque.to_vec(),
        });
        rest = body[end + 1..].trim_ascii_start();
        match rest.first() {
            None => break,
            Some(b',') => rest = &rest[1..],
            Some(_) => return Err(InvalidTagList),
        }
    }
    match tags.is_empty() {
        true => Err(InvalidTagList),
        false => Ok(tags),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, NewUser, Timestamp, UserName, UserPatch};

    fn ada() -> User {
        User::create(
            NewUser {
                email: Email::parse("ada@example.com").unwrap(),
                name: UserName::parse("Ada").unwrap(),
            },
            Timestamp::from_unix_micros(10),
        )
    }

    fn parse(value: &str) -> Result<Option<TagCondition>, InvalidTagList> {
        TagCondition::parse([value.as_bytes()])
    }

    #[test]
    fn a_tag_is_written_as_format_would() {
        for version in [1, 9, 10, 12_345, u64::MAX] {
            for hash in [0, 0xa, 0x0123_4567_89ab_cdef, u64::MAX] {
                assert_eq!(quoted(version, hash), format!("\"{version}-{hash:016x}\""));
            }
        }
    }

    #[test]
    fn a_tag_is_quoted_and_names_the_version() {
        let tag = EntityTag::of(&ada());
        assert!(tag.as_str().starts_with("\"1-"), "{}", tag.as_str());
        assert!(tag.as_str().ends_with('"'));
        assert_eq!(tag.as_str().len(), 2 + 2 + 16);
    }

    #[test]
    fn every_change_gives_a_new_tag_and_an_equal_user_the_same_one() {
        let user = ada();
        let before = EntityTag::of(&user);
        assert_eq!(EntityTag::of(&user.clone()), before);
        let mut renamed = user.clone();
        let patch = |name: &str| UserPatch {
            name: Some(UserName::parse(name).unwrap()),
            email: None,
        };
        assert!(renamed.apply(patch("Countess"), Timestamp::from_unix_micros(10)));
        assert_ne!(EntityTag::of(&renamed), before);
        // Back to the old name within the same clock tick: another version.
        assert!(renamed.apply(patch("Ada"), Timestamp::from_unix_micros(10)));
        assert_eq!(renamed.updated_at, user.updated_at);
        assert_ne!(EntityTag::of(&renamed), before);
        // Same id and version, other values (deleted and imported again).
        let mut other = user.clone();
        other.name = UserName::parse("Imposter").unwrap();
        assert_ne!(EntityTag::of(&other), before);
    }

    #[test]
    fn if_match_compares_strongly_and_if_none_match_weakly() {
        let tag = EntityTag::of(&ada());
        let strong = parse(tag.as_str()).unwrap().unwrap();
        let weak = parse(&format!("W/{}", tag.as_str())).unwrap().unwrap();
        assert!(strong.matches_strongly(&tag));
        assert!(!weak.matches_strongly(&tag));
        assert!(weak.matches_weakly(&tag));
        assert!(strong.matches_weakly(&tag));
        let other = parse("\"1-0000000000000000\"").unwrap().unwrap();
        assert!(!other.matches_strongly(&tag) && !other.matches_weakly(&tag));
    }

    #[test]
    fn a_list_matches_when_any_of_its_tags_does() {
        let tag = EntityTag::of(&ada());
        let list = format!("\"a\" , W/\"b\",,{} ,", tag.as_str());
        assert!(parse(&list).unwrap().unwrap().matches_strongly(&tag));
        let lines = TagCondition::parse([&b"\"a\""[..], tag.as_str().as_bytes()])
            .unwrap()
            .unwrap();
        assert!(lines.matches_strongly(&tag));
    }

    #[test]
    fn a_star_matches_anything_but_only_alone() {
        let tag = EntityTag::of(&ada());
        assert_eq!(parse(" * ").unwrap(), Some(TagCondition::Any));
        assert!(TagCondition::Any.matches_strongly(&tag));
        assert_eq!(parse("*, \"a\""), Err(InvalidTagList));
        assert_eq!(
            TagCondition::parse([&b"*"[..], &b"\"a\""[..]]),
            Err(InvalidTagList)
        );
    }

    #[test]
    fn no_header_is_no_condition() {
        assert_eq!(TagCondition::parse(std::iter::empty()), Ok(None));
    }

    #[test]
    fn what_is_not_an_entity_tag_list_is_refused() {
        for bad in [
            "",
            " ",
            ",",
            "abc",
            "\"abc",
            "w/\"a\"",
            "\"a\" \"b\"",
            "\"a\"b",
            "\"a b\"",
            "\"a\"\"\"",
            "W/",
            "**",
        ] {
            assert_eq!(parse(bad), Err(InvalidTagList), "{bad:?}");
        }
        assert!(
            parse("\"\"").unwrap().is_some(),
            "an empty opaque tag is valid"
        );
    }
}
