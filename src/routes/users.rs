//! Handlers of `/users`.

use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder};

use super::conditions;
use super::dto::{CreateUserRequest, ListParams, UpdateUserRequest};
use super::next_link::NextLink;
use super::paths;
use super::schema::ErrorSchema;
use crate::domain::{
    EntityTag, NewUser, RetryableCreate, TagCondition, User, UserId, UserPatch, UserRecord,
};
use crate::error::ApiResult;
use crate::storage::{Created, ListQuery, UserStore};

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
    description = "The 201 is sent only after the user is durable. With an `Idempotency-Key`, \
                   the key is stored in the same transaction as the user, and a retry with the \
                   same key and the same email and name (after trimming and lower-casing the \
                   email) gets the first 201 again, body and all, with `Idempotent-Replayed: \
                   true`, and creates nothing. Keys are kept for `--idempotency-ttl` (24 h by \
                   default), across restarts, and per API token. A create that fails (409, 400) \
                   keeps no key.",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this request safe: \
            1 to 255 visible ASCII characters, e.g. a UUID the client made for this create",
            min_length = 1, max_length = 255, pattern = r"^[!-~]{1,255}$")
    ),
    request_body(content = super::schema::NewUserSchema, content_type = "application/json"),
    security((), ("bearer" = [])),
    responses(
        (status = 201, description = "Created (or, for a kept `Idempotency-Key`, created before)", body = super::schema::UserSchema,
            headers(
                ("Location" = String, description = "`/users/{id}` of the new user"),
                ("ETag" = String, description = "The user's strong entity tag"),
                ("Idempotent-Replayed" = String, description = "`true` when this is the answer to an earlier request with the same `Idempotency-Key`")
            )),
        (status = 400, description = "A field is invalid (`validation`), the body is not a JSON object, or the `Idempotency-Key` is malformed (`bad_request`)", body = ErrorSchema),
        (status = 401, description = "A token is configured and the request lacks it", body = ErrorSchema,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 409, description = "The email is taken", body = ErrorSchema),
        (status = 413, description = "The body is over 64 KiB", body = ErrorSchema),
        (status = 415, description = "The body is not `application/json`", body = ErrorSchema),
        (status = 422, description = "The `Idempotency-Key` was used before with another email or name (`idempotency_key_reused`)", body = ErrorSchema),
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
    retry: Option<RetryableCreate>,
) -> ApiResult<HttpResponse> {
    let new = NewUser::try_from(body)?;
    let (user, replayed) = match retry {
        None => (store.create(new).await?, false),
        Some(retry) => match store.create_retryable(new, retry).await? {
            Created::New(user) => (user, false),
            Created::Replayed(user) => (user, true),
        },
    };
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, format!("/users/{}", user.id)));
    if replayed {
        response.insert_header((conditions::IDEMPOTENT_REPLAYED, "true"));
    }
    Ok(with_user(response, &user))
}

/// A response carrying `user`: its JSON and its `ETag`.
fn with_user(mut response: HttpResponseBuilder, user: &User) -> HttpResponse {
    response
        .insert_header((header::ETAG, EntityTag::of(user).as_str()))
        .json(UserRecord(user))
}

/// `GET /users/{id}`.
#[utoipa::path(
    get,
    path = paths::USER,
    tag = "users",
    summary = "Read a user",
    params(
        ("id" = String, Path, description = "The user's id (a UUID)", format = Uuid),
        ("If-None-Match" = Option<String>, Header, description = "`*` or entity tags from earlier \
            answers: when one matches the user (weak comparison), the answer is 304 without a body", pattern = r#"^(\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*)$"#)
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = super::schema::UserSchema,
            headers(("ETag" = String, description = "The user's strong entity tag; it changes with every change"))),
        (status = 304, description = "Unchanged since the `If-None-Match` entity tag",
            headers(("ETag" = String, description = "The user's entity tag"))),
        (status = 400, description = "The id is not a UUID, or `If-None-Match` is not a list of entity tags", body = ErrorSchema),
        (status = 401, description = "A token is configured and the request lacks it", body = ErrorSchema,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 404, description = "No such user", body = ErrorSchema),
        (status = 429, description = "This client is over `--rate-limit` (only when configured)", body = ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 503, description = "The database cannot serve now", body = ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait")))
    )
)]
pub(super) async fn get_user<S: UserStore>(
    store: &S,
    id: UserId,
    if_none_match: Option<TagCondition>,
) -> ApiResult<HttpResponse> {
    let user = store.get(id).await?;
    let tag = EntityTag::of(&user);
    if if_none_match.is_some_and(|condition| condition.matches_weakly(&tag)) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, tag.as_str()))
            .finish());
    }
    Ok(with_user(HttpResponse::Ok(), &user))
}

/// `PATCH /users/{id}`.
#[utoipa::path(
    patch,
    path = paths::USER,
    tag = "users",
    summary = "Change a user's email or name",
    description = "Equal values change nothing, not even `updated_at` or the `ETag`. With \
                   `If-Match`, the change is made only if the user still has one of the \
                   given entity tags (`*`: any user); the check and the change are one atomic \
                   step, so of two clients that edit with the same `ETag`, one gets 200 and \
                   the other 412.",
    params(
        ("id" = String, Path, description = "The user's id (a UUID)", format = Uuid),
        ("If-Match" = Option<String>, Header, description = "`*` or the entity tags the user must \
            still have (strong comparison), e.g. the `ETag` of the `GET` the edit started from", pattern = r#"^(\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*)$"#)
    ),
    request_body(content = super::schema::UserPatchSchema, content_type = "application/json"),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The changed user", body = super::schema::UserSchema,
            headers(("ETag" = String, description = "The user's strong entity tag after the change"))),
        (status = 400, description = "The id is not a UUID, a field is invalid or `null`, the body is not a JSON object, or `If-Match` is not a list of entity tags", body = ErrorSchema),
        (status = 401, description = "A token is configured and the request lacks it", body = ErrorSchema,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 404, description = "No such user", body = ErrorSchema),
        (status = 409, description = "The new email is taken", body = ErrorSchema),
        (status = 412, description = "The user no longer has an entity tag of `If-Match`; nothing changed (`precondition_failed`)", body = ErrorSchema),
        (status = 413, description = "The body is over 64 KiB", body = ErrorSchema),
        (status = 415, description = "The body is not `application/json`", body = ErrorSchema),
        (status = 422, description = "An `Idempotency-Key` sent here names a create (`idempotency_key_reused`)", body = ErrorSchema),
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
    expected: TagCondition,
) -> ApiResult<HttpResponse> {
    let patch = UserPatch::try_from(body)?;
    let user = store.update(id, patch, expected).await?;
    Ok(with_user(HttpResponse::Ok(), &user))
}

/// `DELETE /users/{id}`: 204.
#[utoipa::path(
    delete,
    path = paths::USER,
    tag = "users",
    summary = "Delete a user",
    description = "With `If-Match`, the user is deleted only if it still has one of the given \
                   entity tags (`*`: any user), checked and deleted in one atomic step.",
    params(
        ("id" = String, Path, description = "The user's id (a UUID)", format = Uuid),
        ("If-Match" = Option<String>, Header, description = "`*` or the entity tags the user must \
            still have (strong comparison)", pattern = r#"^(\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*)$"#)
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a UUID, or `If-Match` is not a list of entity tags", body = ErrorSchema),
        (status = 401, description = "A token is configured and the request lacks it", body = ErrorSchema,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 404, description = "No such user", body = ErrorSchema),
        (status = 412, description = "The user no longer has an entity tag of `If-Match`; nothing changed (`precondition_failed`)", body = ErrorSchema),
        (status = 422, description = "An `Idempotency-Key` sent here names a create (`idempotency_key_reused`)", body = ErrorSchema),
        (status = 429, description = "This client is over `--rate-limit` (only when configured)", body = ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 503, description = "The database cannot serve now", body = ErrorSchema,
            headers(("Retry-After" = String, description = "Seconds to wait")))
    )
)]
pub(super) async fn delete_user<S: UserStore>(
    store: &S,
    id: UserId,
    expected: TagCondition,
) -> ApiResult<HttpResponse> {
    store.delete(id, expected).await?;
    Ok(HttpResponse::NoContent().finish())
}
