//! The JSON Schemas of the OpenAPI document: what the handlers take and
//! answer, written for the document only (the handlers use the domain and
//! transfer types). A leaf module, so the handlers can name these in their
//! `#[utoipa::path]` attributes and the document can list the handlers,
//! without the two importing each other.

use serde::Serialize;
use utoipa::ToSchema;

/// A user as every endpoint returns it.
#[derive(Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserSchema {
    /// UUIDv7, chosen by the service.
    #[schema(format = Uuid, example = "0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10")]
    pub id: String,
    /// Trimmed and lower-cased.
    #[schema(example = "ada@example.com", max_length = 254)]
    pub email: String,
    /// Trimmed; 1 to 200 characters.
    #[schema(example = "Ada Lovelace", min_length = 1, max_length = 200)]
    pub name: String,
    /// RFC 3339, UTC, microseconds.
    #[schema(format = DateTime, example = "2026-11-24T11:30:00.123456Z")]
    pub created_at: String,
    /// Equals `created_at` until a change; moves only on a real change.
    #[schema(format = DateTime, example = "2026-11-24T11:30:00.123456Z")]
    pub updated_at: String,
}

// The `pattern`s below state the rules of `Email::parse` and
// `UserName::parse` in JSON Schema (surrounding whitespace is trimmed; an
// email has one `@`, 1-64 characters before it and a domain with a dot not at
// either end; no whitespace or control characters in an email, none of the
// latter in a name). A test checks them against the parsers.

/// `POST /users`. Other fields are ignored.
#[derive(Serialize, ToSchema)]
#[schema(as = NewUser)]
pub struct NewUserSchema {
    /// An email address; surrounding spaces are trimmed, letters lower-cased.
    #[schema(
        example = "Ada@Example.com",
        max_length = 254,
        pattern = r"^\s*[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@\s.\x00-\x1f\x7f-\x9f](?:[^@\s\x00-\x1f\x7f-\x9f]*\.)+[^@\s.\x00-\x1f\x7f-\x9f]+\s*$"
    )]
    pub email: String,
    /// Surrounding spaces are trimmed.
    #[schema(
        example = "Ada Lovelace",
        max_length = 200,
        pattern = r"^\s*[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*\s*$"
    )]
    pub name: String,
}

/// `PATCH /users/{id}`: any of the fields; others (id, timestamps, unknown)
/// are ignored; `null` is refused.
#[derive(Serialize, ToSchema)]
#[schema(as = UserPatch)]
pub struct UserPatchSchema {
    #[schema(
        example = "ada@example.com",
        max_length = 254,
        pattern = r"^\s*[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@\s.\x00-\x1f\x7f-\x9f](?:[^@\s\x00-\x1f\x7f-\x9f]*\.)+[^@\s.\x00-\x1f\x7f-\x9f]+\s*$",
        nullable = false
    )]
    pub email: Option<String>,
    #[schema(
        example = "Countess of Lovelace",
        max_length = 200,
        pattern = r"^\s*[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*\s*$",
        nullable = false
    )]
    pub name: Option<String>,
}

/// Every error, whatever the status.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorSchema {
    /// For people; never contains a token or internal detail.
    #[schema(example = "Invalid email address")]
    pub error: String,
    /// For programs.
    pub code: ErrorCode,
}

/// The `code` of an error: the values of `ApiError::code`, kept in step by
/// a test.
#[derive(Serialize, ToSchema)]
#[allow(dead_code, reason = "describes ApiError::code for the document only")]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Validation,
    BadRequest,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PreconditionFailed,
    IdempotencyKeyReused,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Unavailable,
    InsufficientStorage,
    Internal,
}

/// The `sort` of `GET /users`: the names `Sort::NAMES` accepts, kept in
/// step by a test.
#[derive(Serialize, ToSchema)]
#[allow(dead_code, reason = "describes storage::Sort for the document only")]
pub enum SortOrder {
    #[serde(rename = "-created_at")]
    NewestFirst,
    #[serde(rename = "created_at")]
    OldestFirst,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDescending,
    #[serde(rename = "email")]
    Email,
    #[serde(rename = "-email")]
    EmailDescending,
}

/// `GET /ready` when the database answers.
#[derive(Serialize, ToSchema)]
#[schema(as = Ready)]
pub struct ReadySchema {
    #[schema(example = "ready")]
    pub status: String,
    #[schema(example = "ok")]
    pub database: String,
    /// How long the database check took.
    #[schema(example = 0.42)]
    pub latency_ms: f64,
}
