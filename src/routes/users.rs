//! Handlers of `/users`.

use actix_web::http::header;
use actix_web::HttpResponse;

use super::dto::{CreateUserRequest, ListParams, UpdateUserRequest};
use super::next_link::NextLink;
use super::paths;
use super::schema::ErrorSchema;
use crate::domain::{NewUser, UserId, UserPatch, UserRecord};
use crate::error::ApiResult;
use crate::storage::{ListQuery, UserStore};

/// `GET /users`: newest first, paged by cursor.
#[utoipa::path(
    get,
    path = paths::USERS,
    tag = "users",
    summary = "List, search and sort users",
    description = "Pages are keyset pages: a `Link: <…>; rel=\"next\"` header names the next \
                   one while more follow, repeating every parameter. A user that exists \
                   throughout a walk is listed exactly once, even while others are added or \
                   deleted. A cursor pages only the listing (sort, search and filters) that \
                   issued it; with any other it is a 400.",
    params(
        ("limit" = Option<u32>, Query, description = "Users per page, 1 to 1000", minimum = 1, maximum = 1000, example = 100),
        ("cursor" = Option<String>, Query, description = "Where the page starts: taken from a `Link` header, opaque", pattern = r"^[A-Za-z0-9_-]{39,1108}$"),
        ("email" = Option<String>, Query, description = "Only the user with this email (exact, case-insensitive)", max_length = 254, pattern = r"^\s*[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@\s.\x00-\x1f\x7f-\x9f](?:[^@\s\x00-\x1f\x7f-\x9f]*\.)+[^@\s.\x00-\x1f\x7f-\x9f]+\s*$"),
        ("q" = Option<String>, Query, description = "Search: a case-insensitive substring of the name or the email. \
            Trimmed; 1 to 100 characters, no control characters. One or two characters match \
            the start of a word (a run of letters and digits) of either instead. Search \
            syntax (quotes, `*`, `OR`) is matched as text.", min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$", example = "lovelace"),
        ("sort" = Option<super::schema::SortOrder>, Query, description = "Order: newest first (default), oldest first, by name \
            (case-insensitive) or email, `-` for descending. Ties break by id in the same direction.",
            example = "name"),
        ("created_after" = Option<String>, Query, description = "Only users created strictly after this RFC 3339 instant", format = DateTime, example = "2026-01-01T00:00:00Z"),
        ("created_before" = Option<String>, Query, description = "Only users created strictly before this RFC 3339 instant", format = DateTime, example = "2027-01-01T00:00:00Z")
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of users", body = [super::schema::UserSchema],
            headers(("Link" = String, description = "`</users?limit=…&cursor=…>; rel=\"next\"` when more users follow"))),
        (status = 400, description = "A parameter is invalid, or the cursor is from another listing", body = ErrorSchema),
        (status = 401, description = "A token is configured and the request lacks it", body = ErrorSchema,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 429, description = "This client is over `--rate-limit` (only when configured)", body = ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 503, description = "The database cannot serve now", body = ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait")))
    )
)]
pub(super) async fn list_users<S: UserStore>(
    store: &S,
    params: ListParams,
) -> ApiResult<HttpResponse> {
    let query = ListQuery::try_from(params)?;
    let next_link = NextLink::of(&query);
    let page = store.list(query).await?;

    let mut response = HttpResponse::Ok();
    if let Some(next) = page.next {
        response.insert_header((header::LINK, next_link.to(next)));
    }
    let users: Vec<UserRecord<'_>> = page.users.iter().map(UserRecord).collect();
    Ok(response.json(users))
}

/// `POST /users`: 201 with the user and its `Location`.
#[utoipa::path(
    post,
    path = paths::USERS,
    tag = "users",
    summary = "Create a user",
    description = "The 201 is sent only after the user is durable.",
    request_body(content = super::schema::NewUserSchema, content_type = "application/json"),
    security((), ("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = super::schema::UserSchema,
            headers(("Location" = String, description = "`/users/{id}` of the new user"))),
        (status = 400, description = "A field is invalid (`validation`) or the body is not a JSON object (`bad_request`)", body = ErrorSchema),
        (status = 401, description = "A token is configured and the request lacks it", body = ErrorSchema,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 409, description = "The email is taken", body = ErrorSchema),
        (status = 413, description = "The body is over 64 KiB", body = ErrorSchema),
        (status = 415, description = "The body is not `application/json`", body = ErrorSchema),
        (status = 429, description = "This client is over `--rate-limit` (only when configured)", body = ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 503, description = "The database cannot serve now", body = ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 507, description = "The database is full (`--max-db-size`)", body = ErrorSchema)
    )
)]
pub(super) async fn create_user<S: UserStore>(
    store: &S,
    body: CreateUserRequest,
) -> ApiResult<HttpResponse> {
    let new = NewUser::try_from(body)?;
    let user = store.create(new).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/users/{}", user.id)))
        .json(UserRecord(&user)))
}

/// `GET /users/{id}`.
#[utoipa::path(
    get,
    path = paths::USER,
    tag = "users",
    summary = "Read a user",
    params(("id" = String, Path, description = "The user's id (a UUID)", format = Uuid)),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = super::schema::UserSchema),
        (status = 400, description = "The id is not a UUID", body = ErrorSchema),
        (status = 401, description = "A token is configured and the request lacks it", body = ErrorSchema,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 404, description = "No such user", body = ErrorSchema),
        (status = 429, description = "This client is over `--rate-limit` (only when configured)", body = ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 503, description = "The database cannot serve now", body = ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait")))
    )
)]
pub(super) async fn get_user<S: UserStore>(store: &S, id: UserId) -> ApiResult<HttpResponse> {
    let user = store.get(id).await?;
    Ok(HttpResponse::Ok().json(UserRecord(&user)))
}

/// `PATCH /users/{id}`.
#[utoipa::path(
    patch,
    path = paths::USER,
    tag = "users",
    summary = "Change a user's email or name",
    description = "Equal values change nothing, not even `updated_at`.",
    params(("id" = String, Path, description = "The user's id (a UUID)", format = Uuid)),
    request_body(content = super::schema::UserPatchSchema, content_type = "application/json"),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The changed user", body = super::schema::UserSchema),
        (status = 400, description = "The id is not a UUID, a field is invalid or `null`, or the body is not a JSON object", body = ErrorSchema),
        (status = 401, description = "A token is configured and the request lacks it", body = ErrorSchema,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 404, description = "No such user", body = ErrorSchema),
        (status = 409, description = "The new email is taken", body = ErrorSchema),
        (status = 413, description = "The body is over 64 KiB", body = ErrorSchema),
        (status = 415, description = "The body is not `application/json`", body = ErrorSchema),
        (status = 429, description = "This client is over `--rate-limit` (only when configured)", body = ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 503, description = "The database cannot serve now", body = ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 507, description = "The database is full (`--max-db-size`)", body = ErrorSchema)
    )
)]
pub(super) async fn update_user<S: UserStore>(
    store: &S,
    id: UserId,
    body: UpdateUserRequest,
) -> ApiResult<HttpResponse> {
    let patch = UserPatch::try_from(body)?;
    let user = store.update(id, patch).await?;
    Ok(HttpResponse::Ok().json(UserRecord(&user)))
}

/// `DELETE /users/{id}`: 204.
#[utoipa::path(
    delete,
    path = paths::USER,
    tag = "users",
    summary = "Delete a user",
    params(("id" = String, Path, description = "The user's id (a UUID)", format = Uuid)),
    security((), ("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a UUID", body = ErrorSchema),
        (status = 401, description = "A token is configured and the request lacks it", body = ErrorSchema,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 404, description = "No such user", body = ErrorSchema),
        (status = 429, description = "This client is over `--rate-limit` (only when configured)", body = ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 503, description = "The database cannot serve now", body = ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait")))
    )
)]
pub(super) async fn delete_user<S: UserStore>(store: &S, id: UserId) -> ApiResult<HttpResponse> {
    store.delete(id).await?;
    Ok(HttpResponse::NoContent().finish())
}
