//! Handlers of `/users`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::dto::{parse_limit, CreateUserRequest, ListParams, UpdateUserRequest, UserResponse};
use super::json_object::Object;
use crate::domain::{Email, NewUser, UserId, UserPatch};
use crate::error::{ApiError, ApiResult};
use crate::storage::{Cursor, ListQuery, UserStore};

fn parse_id(raw: &str) -> ApiResult<UserId> {
    UserId::parse(raw).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// `GET /users`: newest first, paged by cursor.
pub(super) async fn list_users<S: UserStore>(
    store: web::Data<S>,
    params: web::Query<ListParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let limit = parse_limit(params.limit.as_deref())?;
    let email = params
        .email
        .as_deref()
        .map(Email::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("email parameter: {e}")))?;
    let after = params
        .cursor
        .as_deref()
        .map(Cursor::decode)
        .transpose()
        .map_err(|_| ApiError::bad_request("Invalid cursor"))?;
    let page = store
        .list(ListQuery {
            limit,
            email,
            after,
        })
        .await?;

    let mut response = HttpResponse::Ok();
    if let Some(next) = page.next {
        response.insert_header((
            header::LINK,
            format!(
                "</users?limit={limit}&cursor={}>; rel=\"next\"",
                next.encode()
            ),
        ));
    }
    let users: Vec<UserResponse<'_>> = page.users.iter().map(UserResponse).collect();
    Ok(response.json(users))
}

/// `POST /users`: 201 with the user and its `Location`.
pub(super) async fn create_user<S: UserStore>(
    store: web::Data<S>,
    body: web::Json<Object<CreateUserRequest>>,
) -> ApiResult<HttpResponse> {
    let new = NewUser::try_from(body.into_inner().0)?;
    let user = store.create(new).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/users/{}", user.id)))
        .json(UserResponse(&user)))
}

/// `GET /users/{id}`.
pub(super) async fn get_user<S: UserStore>(
    store: web::Data<S>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let user = store.get(parse_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(UserResponse(&user)))
}

/// `PATCH /users/{id}`.
pub(super) async fn update_user<S: UserStore>(
    store: web::Data<S>,
    id: web::Path<String>,
    body: web::Json<Object<UpdateUserRequest>>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id)?;
    let patch = UserPatch::try_from(body.into_inner().0)?;
    let user = store.update(id, patch).await?;
    Ok(HttpResponse::Ok().json(UserResponse(&user)))
}

/// `DELETE /users/{id}`: 204.
pub(super) async fn delete_user<S: UserStore>(
    store: web::Data<S>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    store.delete(parse_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
