//! The user's wire shape: the five fields, named and formatted as the API
//! answers with them (`id`, `email`, `name`, `created_at`, `updated_at`;
//! UUID and RFC 3339 text), which `export` writes and `import` reads. One
//! module, so the API and the files cannot drift apart.

use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::{Email, Timestamp, User, UserId, UserName};

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

/// The fields of a user as text, before validation.
#[derive(Debug, Deserialize)]
pub struct RawUser {
    id: String,
    email: String,
    name: String,
    created_at: String,
    updated_at: String,
}

impl RawUser {
    /// The user these fields describe, validated as the API validates;
    /// the error names the field.
    pub fn validate(self) -> Result<User, String> {
        let id = UserId::parse(&self.id).map_err(|_| format!("id {:?} is not a UUID", self.id))?;
        let email = Email::parse(&self.email).map_err(|e| format!("email: {e}"))?;
        let name = UserName::parse(&self.name).map_err(|e| format!("name: {e}"))?;
        let created_at = Timestamp::parse_rfc3339(&self.created_at)
            .map_err(|e| format!("created_at {:?}: {e}", self.created_at))?;
        let updated_at = Timestamp::parse_rfc3339(&self.updated_at)
            .map_err(|e| format!("updated_at {:?}: {e}", self.updated_at))?;
        if updated_at < created_at {
            return Err("updated_at is before created_at".into());
        }
        Ok(User {
            id,
            email,
            name,
            created_at,
            updated_at,
        })
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
        assert_eq!(read.validate().unwrap(), user);
    }
}
