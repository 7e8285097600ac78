//! The user's wire shape: the five fields, named and formatted as the API
//! answers with them (`id`, `email`, `name`, `created_at`, `updated_at`;
//! UUID and RFC 3339 text), which `export` writes and `import` reads. One
//! module, so the API and the files cannot drift apart.

use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::{Email, Timestamp, User, UserId, UserName, Version};

/// The field names, in the order they are written (also CSV's header).
pub const USER_FIELDS: [&str; 5] = ["id", "email", "name", "created_at", "updated_at"];

/// A user as the API answers with it and `export` writes it.
pub struct UserRecord<'a>(pub &'a User);

impl Serialize for UserRecord<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let user = self.0;
        let mut s = serializer.serialize_struct("User", 5)?;
        s.serialize_field(USER_FIELDS[0], &Displayed(&user.id))?;
        s.serialize_field(USER_FIELDS[1], user.email.as_str())?;
        s.serialize_field(USER_FIELDS[2], user.name.as_str())?;
        s.serialize_field(USER_FIELDS[3], &Displayed(&user.created_at))?;
        s.serialize_field(USER_FIELDS[4], &Displayed(&user.updated_at))?;
        s.end()
    }
}

/// Serialises a value through its `Display`, without an intermediate String.
struct Displayed<'a, T>(&'a T);

impl<T: std::fmt::Display> Serialize for Displayed<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

/// The fields of a user as text, before validation. Only `email` and
/// `name` are required: a file from another system has no ids or times of
/// ours, and the importer makes them as `POST` does.
#[derive(Debug, Deserialize)]
pub struct RawUser {
    #[serde(default)]
    id: Option<String>,
    email: String,
    name: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

/// A validated user from a file: what it gave, and nothing made up yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: Option<UserId>,
    pub email: Email,
    pub name: UserName,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

impl RawUser {
    /// The row these fields describe, validated as the API validates; the
    /// error names the field. An empty optional field counts as absent
    /// (a CSV column left blank).
    pub fn validate(self) -> Result<UserRow, String> {
        let given = |field: Option<String>| field.filter(|value| !value.trim().is_empty());
        let id = given(self.id)
            .map(|id| UserId::parse(&id).map_err(|_| format!("id {id:?} is not a UUID")))
            .transpose()?;
        let email = Email::parse(&self.email).map_err(|e| format!("email: {e}"))?;
        let name = UserName::parse(&self.name).map_err(|e| format!("name: {e}"))?;
        let time = |field: &str, raw: Option<String>| {
            raw.map(|raw| {
                Timestamp::parse_rfc3339(&raw).map_err(|e| format!("{field} {raw:?}: {e}"))
            })
            .transpose()
        };
        let created_at = time("created_at", given(self.created_at))?;
        let updated_at = time("updated_at", given(self.updated_at))?;
        if let (Some(created), Some(updated)) = (created_at, updated_at) {
            if updated < created {
                return Err("updated_at is before created_at".into());
            }
        }
        Ok(UserRow {
            id,
            email,
            name,
            created_at,
            updated_at,
        })
    }
}

impl UserRow {
    /// The user this row describes, with what it left out made as `POST`
    /// makes it: a new UUID v7, `created_at` = `now`, `updated_at` =
    /// `created_at` (or the row's, when not earlier).
    pub fn into_user(self, now: Timestamp) -> User {
        let created_at = self.created_at.unwrap_or(now);
        User {
            id: self.id.unwrap_or_else(UserId::generate),
            email: self.email,
            name: self.name,
            created_at,
            updated_at: self.updated_at.map_or(created_at, |t| t.max(created_at)),
            version: Version::FIRST,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewUser;

    #[test]
    fn a_written_user_reads_back_as_the_same_user() {
        let user = User::create(
            NewUser {
                email: Email::parse("ada@example.com").unwrap(),
                name: UserName::parse("Ada").unwrap(),
            },
            Timestamp::now(),
        );
        let text = serde_json::to_string(&UserRecord(&user)).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let names: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = USER_FIELDS.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected);
        let read: RawUser = serde_json::from_str(&text).unwrap();
        let row = read.validate().unwrap();
        assert_eq!(row.into_user(Timestamp::from_unix_micros(0)), user);
    }
}

#[cfg(test)]
mod rows_from_other_systems {
    use super::*;

    fn row(json: &str) -> Result<UserRow, String> {
        serde_json::from_str::<RawUser>(json)
            .map_err(|e| e.to_string())
            .and_then(RawUser::validate)
    }

    #[test]
    fn email_and_name_are_enough_and_the_rest_is_made_as_post_does() {
        let row = row(r#"{"email":"Ada@Example.com","name":"Ada","dept":"R&D"}"#).unwrap();
        assert_eq!((row.id, row.created_at, row.updated_at), (None, None, None));
        let now = Timestamp::from_unix_micros(1_000);
        let user = row.into_user(now);
        assert_eq!(user.email.as_str(), "ada@example.com");
        assert_eq!((user.created_at, user.updated_at), (now, now));
        assert_eq!(user.id.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn blank_optional_fields_are_absent_and_a_blank_email_is_not() {
        let blank = r#"{"id":" ","email":"a@b.co","name":"A","created_at":"","updated_at":""}"#;
        assert_eq!(row(blank).unwrap().id, None);
        assert!(row(r#"{"email":" ","name":"A"}"#)
            .unwrap_err()
            .starts_with("email"));
        assert!(row(r#"{"name":"A"}"#).unwrap_err().contains("email"));
    }

    #[test]
    fn an_updated_at_earlier_than_a_made_created_at_is_raised_to_it() {
        let row = row(r#"{"email":"a@b.co","name":"A","updated_at":"2020-01-01T00:00:00Z"}"#);
        let now = Timestamp::from_unix_micros(1_800_000_000_000_000);
        let user = row.unwrap().into_user(now);
        assert_eq!(user.updated_at, now);
    }
}
