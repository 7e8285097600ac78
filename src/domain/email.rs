//! `Email`: a trimmed, lower-cased, syntactically valid email address.

use super::ValidationError;

/// A trimmed, lower-cased email address that satisfies API.md's rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;
    pub const MAX_LOCAL_CHARS: usize = 64;

    /// Trims, lower-cases and validates `raw`. Lengths are counted in Unicode
    /// code points of the stored (normalised) form.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let normalised = raw.trim().to_lowercase();
        if is_valid(&normalised) {
            Ok(Self(normalised))
        } else {
            Err(ValidationError::InvalidEmail)
        }
    }

    /// An email read back from storage: checked against the same rules, but
    /// not normalised again (no allocation). Fails if the stored text is not
    /// a normalised valid email, i.e. the data was changed behind our back.
    pub fn from_stored(stored: String) -> Result<Self, ValidationError> {
        // Per character, not `is_uppercase`: some upper-case letters (e.g.
        // U+1D49E, script capital C) have no lower-case form and are kept
        // as they are by `to_lowercase` (found by a property test). ASCII,
        // nearly every stored email, is checked a byte at a time: a list
        // page checks a hundred of them (BENCHMARKS.md).
        let lower_case = if stored.is_ascii() {
            !stored.bytes().any(|b| b.is_ascii_uppercase())
        } else {
            stored.chars().all(|c| {
                let mut lower = c.to_lowercase();
                lower.next() == Some(c) && lower.next().is_none()
            })
        };
        let normalised = stored.trim().len() == stored.len() && lower_case;
        if normalised && is_valid(&stored) {
            Ok(Self(stored))
        } else {
            Err(ValidationError::InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn is_valid(email: &str) -> bool {
    let ascii = email.is_ascii();
    let chars = |text: &str| match ascii {
        true => text.len(),
        false => text.chars().count(),
    };
    if chars(email) > Email::MAX_CHARS {
        return false;
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let local_chars = chars(local);
    (1..=Email::MAX_LOCAL_CHARS).contains(&local_chars)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(raw: &str) -> String {
        Email::parse(raw)
            .unwrap_or_else(|e| panic!("{raw:?} should be accepted, got {e}"))
            .into_string()
    }

    fn rejected(raw: &str) {
        assert_eq!(
            Email::parse(raw),
            Err(ValidationError::InvalidEmail),
            "{raw:?} should be rejected"
        );
    }

    #[test]
    fn a_stored_email_must_already_be_normalised() {
        assert!(Email::from_stored("ada@example.com".into()).is_ok());
        assert!(Email::from_stored("Ada@example.com".into()).is_err());
        assert!(Email::from_stored(" ada@example.com".into()).is_err());
        assert!(Email::from_stored("ada".into()).is_err());
    }

    #[test]
    fn an_upper_case_letter_without_a_lower_case_form_survives_storage() {
        let email = Email::parse("\u{1d49e}@example.com").unwrap();
        assert!(Email::from_stored(email.into_string()).is_ok());
    }

    #[test]
    fn a_plain_address_is_accepted_as_is() {
        assert_eq!(accepted("ada@example.com"), "ada@example.com");
    }

    #[test]
    fn surrounding_spaces_are_trimmed_and_letters_lower_cased() {
        assert_eq!(accepted("  Ada@Example.COM \n"), "ada@example.com");
    }

    #[test]
    fn non_ascii_letters_are_lower_cased_too() {
        assert_eq!(accepted("ÉLODIE@exemple.fr"), "élodie@exemple.fr");
    }

    #[test]
    fn an_address_without_at_sign_is_rejected() {
        rejected("ada.example.com");
    }

    #[test]
    fn an_address_with_two_at_signs_is_rejected() {
        rejected("ada@lovelace@example.com");
    }

    #[test]
    fn an_empty_local_part_is_rejected() {
        rejected("@example.com");
    }

    #[test]
    fn an_empty_or_blank_address_is_rejected() {
        rejected("");
        rejected("   ");
    }

    #[test]
    fn a_domain_without_a_dot_is_rejected() {
        rejected("ada@localhost");
    }

    #[test]
    fn a_domain_that_starts_or_ends_with_a_dot_is_rejected() {
        rejected("ada@.example.com");
        rejected("ada@example.com.");
    }

    #[test]
    fn inner_whitespace_is_rejected() {
        rejected("ada lovelace@example.com");
        rejected("ada@exa mple.com");
        rejected("ada@example.com\u{a0}x");
    }

    #[test]
    fn control_characters_are_rejected() {
        rejected("ada\u{0}@example.com");
        rejected("ada@example.com\u{7f}x");
        rejected("ada\t@example.com");
    }

    #[test]
    fn a_local_part_of_64_characters_is_accepted_and_65_rejected() {
        accepted(&format!("{}@example.com", "a".repeat(64)));
        rejected(&format!("{}@example.com", "a".repeat(65)));
    }

    #[test]
    fn local_part_length_counts_code_points_not_bytes() {
        accepted(&format!("{}@example.com", "é".repeat(64)));
    }

    #[test]
    fn an_address_of_254_characters_is_accepted_and_255_rejected() {
        let domain_254 = format!("{}.com", "d".repeat(254 - 4 - 2));
        accepted(&format!("a@{domain_254}"));
        let domain_255 = format!("{}.com", "d".repeat(255 - 4 - 2));
        rejected(&format!("a@{domain_255}"));
    }
}
