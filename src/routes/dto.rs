//! Request and response bodies, and their conversion into domain values.

use serde::de::Deserializer;
use serde::Deserialize;

use crate::domain::{Email, NewUser, SearchTerm, Timestamp, UserName, UserPatch};
use crate::error::ApiError;
use crate::storage::{Cursor, ListQuery, Sort};

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
    pub q: Option<String>,
    pub sort: Option<String>,
    pub created_after: Option<String>,
    pub created_before: Option<String>,
}

impl TryFrom<ListParams> for ListQuery {
    type Error = ApiError;

    /// Checks every parameter; a cursor must come from this same listing
    /// (filters, search and sort), else it would start a walk somewhere
    /// that listing never was.
    fn try_from(params: ListParams) -> Result<Self, Self::Error> {
        let limit = parse_limit(params.limit.as_deref())?;
        let email = params
            .email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(|e| ApiError::bad_request(format!("email parameter: {e}")))?;
        let search = params
            .q
            .as_deref()
            .map(SearchTerm::parse)
            .transpose()
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let sort = params
            .sort
            .as_deref()
            .map(Sort::parse)
            .transpose()
            .map_err(|e| ApiError::bad_request(e.to_string()))?
            .unwrap_or_default();
        let mut query = ListQuery {
            limit,
            email,
            search,
            sort,
            created_after: instant("created_after", params.created_after.as_deref())?,
            created_before: instant("created_before", params.created_before.as_deref())?,
            after: None,
        };
        if let Some(text) = params.cursor.as_deref() {
            let cursor =
                Cursor::decode(text).map_err(|_| ApiError::bad_request("Invalid cursor"))?;
            if cursor.scope != query.scope() || cursor.position.key() != sort.key {
                return Err(ApiError::bad_request(
                    "cursor belongs to a listing with another sort, search or filter; \
                     start again without it",
                ));
            }
            query.after = Some(cursor.position);
        }
        Ok(query)
    }
}

fn instant(name: &str, raw: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    raw.map(|raw| {
        Timestamp::parse_rfc3339(raw).map_err(|_| {
            ApiError::bad_request(format!(
                "{name} must be an RFC 3339 timestamp such as 2026-01-31T09:30:00Z"
            ))
        })
    })
    .transpose()
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
