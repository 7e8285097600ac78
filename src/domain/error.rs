//! The closed set of reasons a field can fail validation.

/// Which field failed and why. The `Display` text is what clients see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// Kept word for word from the original service.
    #[error("Invalid email address")]
    InvalidEmail,
    #[error("name must not be empty")]
    EmptyName,
    #[error("name must be at most {max} characters")]
    NameTooLong { max: usize },
    #[error("name must not contain control characters")]
    NameHasControlCharacters,
}
