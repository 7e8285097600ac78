//! `User` and the validated inputs that create or change one.

use super::{Email, Timestamp, UserId, UserName, Version};

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: UserName,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Counts the changes; the entity tag is derived from it.
    pub version: Version,
}

/// What a client supplies to create a user, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: Email,
    pub name: UserName,
}

/// A validated partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub email: Option<Email>,
    pub name: Option<UserName>,
}

impl User {
    /// A new user with a fresh id; `updated_at` equals `created_at`.
    pub fn create(new: NewUser, now: Timestamp) -> Self {
        Self {
            id: UserId::generate(),
            email: new.email,
            name: new.name,
            created_at: now,
            updated_at: now,
            version: Version::FIRST,
        }
    }

    /// Applies `patch` and returns whether anything changed. `updated_at`
    /// moves only on a real change, and never backwards; the version moves
    /// with every real change, even within one clock tick.
    pub fn apply(&mut self, patch: UserPatch, now: Timestamp) -> bool {
        let mut changed = false;
        if let Some(email) = patch.email {
            if email != self.email {
                self.email = email;
                changed = true;
            }
        }
        if let Some(name) = patch.name {
            if name != self.name {
                self.name = name;
                changed = true;
            }
        }
        if changed {
            self.updated_at = now.max(self.updated_at);
            self.version = self.version.next();
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ada(now: Timestamp) -> User {
        User::create(
            NewUser {
                email: Email::parse("ada@example.com").unwrap(),
                name: UserName::parse("Ada").unwrap(),
            },
            now,
        )
    }

    #[test]
    fn a_new_user_has_updated_at_equal_to_created_at() {
        let user = ada(Timestamp::from_unix_micros(10));
        assert_eq!(user.created_at, user.updated_at);
    }

    #[test]
    fn an_empty_patch_changes_nothing() {
        let mut user = ada(Timestamp::from_unix_micros(10));
        let before = user.clone();
        assert!(!user.apply(UserPatch::default(), Timestamp::from_unix_micros(20)));
        assert_eq!(user, before);
    }

    #[test]
    fn a_patch_with_equal_values_does_not_move_updated_at() {
        let mut user = ada(Timestamp::from_unix_micros(10));
        let patch = UserPatch {
            email: Some(Email::parse("ADA@example.com").unwrap()),
            name: Some(UserName::parse(" Ada ").unwrap()),
        };
        assert!(!user.apply(patch, Timestamp::from_unix_micros(20)));
        assert_eq!(user.updated_at, Timestamp::from_unix_micros(10));
        assert_eq!(user.version, Version::FIRST);
    }

    #[test]
    fn a_real_change_moves_updated_at_only() {
        let mut user = ada(Timestamp::from_unix_micros(10));
        let patch = UserPatch {
            name: Some(UserName::parse("Countess").unwrap()),
            email: None,
        };
        assert!(user.apply(patch, Timestamp::from_unix_micros(20)));
        assert_eq!(user.name.as_str(), "Countess");
        assert_eq!(user.created_at, Timestamp::from_unix_micros(10));
        assert_eq!(user.updated_at, Timestamp::from_unix_micros(20));
        assert_eq!(user.version, Version::FIRST.next());
    }

    #[test]
    fn updated_at_never_moves_backwards_when_the_clock_does() {
        let mut user = ada(Timestamp::from_unix_micros(10));
        let patch = UserPatch {
            name: Some(UserName::parse("Countess").unwrap()),
            email: None,
        };
        user.apply(patch, Timestamp::from_unix_micros(5));
        assert_eq!(user.updated_at, Timestamp::from_unix_micros(10));
    }
}
