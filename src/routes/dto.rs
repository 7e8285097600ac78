//! Request and response bodies, and their conversion into domain values.

use serde::de::Deserializer;
use serde::Deserialize;

use crate::domain::{Email, NewUser, UserName, UserPatch};
use crate::error::ApiError;

/// `POST /users`. Unknown fields are ignored, as the original service did.
#[derive(Debug, Deserialize)]
pub struct CreateUserRequest {
    pub email: String,
    pub name: String,
}

impl TryFrom<CreateUserRequest> for NewUser {
    type Error = ApiError;

    /// The email is checked first, so its message is the one a client sees
    /// when both fields are wrong.
    fn try_from(request: CreateUserRequest) -> Result<Self, Self::Error> {
        Ok(NewUser {
            email: Email::parse(&request.email)?,
            name: UserName::parse(&request.name)?,
        })
    }
}

/// `PATCH /users/{id}`: any of `email`, `name`. Read-only fields (`id`,
/// timestamps) and unknown fields are ignored, so a client may send back a
/// whole user it fetched; `null` is refused rather than read as "unset".
#[derive(Debug, Default, Deserialize)]
pub struct UpdateUserRequest {
    #[serde(default, deserialize_with = "present")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub name: Option<Option<String>>,
}

/// Distinguishes an absent field (`None`) from an explicit `null`
/// (`Some(None)`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl TryFrom<UpdateUserRequest> for UserPatch {
    type Error = ApiError;

    fn try_from(request: UpdateUserRequest) -> Result<Self, Self::Error> {
        let email = request
            .email
            .map(|v| v.ok_or_else(|| null_field("email")))
            .transpose()?
            .map(|raw| Email::parse(&raw))
            .transpose()?;
        let name = request
            .name
            .map(|v| v.ok_or_else(|| null_field("name")))
            .transpose()?
            .map(|raw| UserName::parse(&raw))
            .transpose()?;
        Ok(UserPatch { email, name })
    }
}

fn null_field(field: &str) -> ApiError {
    ApiError::bad_request(format!("{field} must be a string, not null"))
}

/// `GET /users` query parameters, kept as text so each gets a clear error.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    pub limit: Option<String>,
    pub email: Option<String>,
    pub cursor: Option<String>,
}

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

/// Parses `limit`: 1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
pub fn parse_limit(raw: Option<&str>) -> Result<u32, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    raw.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "limit must be a whole number from 1 to {MAX_LIMIT}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_to_100() {
        assert_eq!(parse_limit(None).unwrap(), 100);
    }

    #[test]
    fn limit_accepts_1_to_1000_only() {
        assert_eq!(parse_limit(Some("1")).unwrap(), 1);
        assert_eq!(parse_limit(Some("1000")).unwrap(), 1000);
        for raw in [
            "0",
            "1001",
            "-1",
            "abc",
            "",
            "1.5",
            " 5",
            "99999999999999999999",
        ] {
            assert!(parse_limit(Some(raw)).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn a_null_name_in_a_patch_is_refused() {
        let request: UpdateUserRequest = serde_json::from_str(r#"{"name": null}"#).unwrap();
        assert!(matches!(
            UserPatch::try_from(request),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn an_absent_field_in_a_patch_is_left_alone() {
        let request: UpdateUserRequest =
            serde_json::from_str(r#"{"name": " Ada ", "id": "x"}"#).unwrap();
        let patch = UserPatch::try_from(request).unwrap();
        assert_eq!(patch.email, None);
        assert_eq!(patch.name.unwrap().as_str(), "Ada");
    }
}
