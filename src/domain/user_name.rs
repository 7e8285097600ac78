//! `UserName`: a trimmed display name of 1 to 200 characters.

use super::ValidationError;

/// A trimmed name of 1 to [`UserName::MAX_CHARS`] code points with no
/// control characters (Unicode category Cc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        check(trimmed)?;
        Ok(Self(trimmed.to_owned()))
    }

    /// A name read back from storage: checked, not copied. Fails if the
    /// stored text breaks the rules (the data was changed behind our back).
    pub fn from_stored(stored: String) -> Result<Self, ValidationError> {
        if stored.trim().len() != stored.len() {
            return Err(ValidationError::EmptyName);
        }
        check(&stored)?;
        Ok(Self(stored))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn check(trimmed: &str) -> Result<(), ValidationError> {
    if trimmed.is_empty() {
        return Err(ValidationError::EmptyName);
    }
    if trimmed.chars().count() > UserName::MAX_CHARS {
        return Err(ValidationError::NameTooLong {
            max: UserName::MAX_CHARS,
        });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ValidationError::NameHasControlCharacters);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_name_must_already_be_trimmed_and_valid() {
        assert!(UserName::from_stored("Ada".into()).is_ok());
        assert!(UserName::from_stored(" Ada".into()).is_err());
        assert!(UserName::from_stored("A\nda".into()).is_err());
    }

    #[test]
    fn a_name_is_trimmed() {
        assert_eq!(
            UserName::parse("  Ada Lovelace \t").unwrap().as_str(),
            "Ada Lovelace"
        );
    }

    #[test]
    fn an_empty_or_blank_name_is_rejected() {
        assert_eq!(UserName::parse(""), Err(ValidationError::EmptyName));
        assert_eq!(UserName::parse(" \n "), Err(ValidationError::EmptyName));
    }

    #[test]
    fn a_name_of_200_characters_is_accepted_and_201_rejected() {
        assert!(UserName::parse(&"n".repeat(200)).is_ok());
        assert_eq!(
            UserName::parse(&"n".repeat(201)),
            Err(ValidationError::NameTooLong { max: 200 })
        );
    }

    #[test]
    fn name_length_counts_code_points_after_trimming() {
        assert!(UserName::parse(&format!("  {}  ", "ü".repeat(200))).is_ok());
        assert!(UserName::parse(&"😀".repeat(200)).is_ok());
    }

    #[test]
    fn control_characters_inside_a_name_are_rejected() {
        for raw in [
            "Ada\nLovelace",
            "Ada\u{0}",
            "A\u{7f}da",
            "A\u{85}da",
            "Ada\tL",
        ] {
            assert_eq!(
                UserName::parse(raw),
                Err(ValidationError::NameHasControlCharacters),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn non_control_unicode_is_kept() {
        assert_eq!(UserName::parse("Zoë 李").unwrap().as_str(), "Zoë 李");
    }
}
