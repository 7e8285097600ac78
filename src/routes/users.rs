//! Handlers of `/users`.

use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};

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

/// Everything under `/users/` that is not `/users` itself: one id segment,
/// dispatched on the method here rather than by an actix resource, because
/// actix matches a `{id}` pattern with a regex, which cost ~9 % of a worker's
/// time under load (see BENCHMARKS.md).
pub(super) async fn user_by_id<S: UserStore>(
    req: HttpRequest,
    payload: web::Payload,
    store: web::Data<S>,
) -> Result<HttpResponse, actix_web::Error> {
    let raw_id = id_segment(req.path()).ok_or(ApiError::RouteNotFound)?;
    let response = match *req.method() {
        // actix-http sends no body for HEAD; headers are those of GET.
        Method::GET | Method::HEAD => get_user(store.get_ref(), parse_id(raw_id)?).await?,
        Method::PATCH => {
            let body = web::Json::<Object<UpdateUserRequest>>::from_request(
                &req,
                &mut payload.into_inner(),
            )
            .await?;
            let patch = UserPatch::try_from(body.into_inner().0)?;
            update_user(store.get_ref(), parse_id(raw_id)?, patch).await?
        }
        Method::DELETE => delete_user(store.get_ref(), parse_id(raw_id)?).await?,
        _ => {
            return Err(ApiError::MethodNotAllowed {
                allow: "GET, HEAD, PATCH, DELETE",
            }
            .into())
        }
    };
    Ok(response)
}

/// The `{id}` of `/users/{id}`; `None` for any other shape of path.
fn id_segment(path: &str) -> Option<&str> {
    path.strip_prefix("/users/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// `GET /users/{id}`.
async fn get_user<S: UserStore>(store: &S, id: UserId) -> ApiResult<HttpResponse> {
    let user = store.get(id).await?;
    Ok(HttpResponse::Ok().json(UserResponse(&user)))
}

/// `PATCH /users/{id}`.
async fn update_user<S: UserStore>(
    store: &S,
    id: UserId,
    patch: UserPatch,
) -> ApiResult<HttpResponse> {
    let user = store.update(id, patch).await?;
    Ok(HttpResponse::Ok().json(UserResponse(&user)))
}

/// `DELETE /users/{id}`: 204.
async fn delete_user<S: UserStore>(store: &S, id: UserId) -> ApiResult<HttpResponse> {
    store.delete(id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::id_segment;

    #[test]
    fn only_one_non_empty_segment_is_an_id() {
        assert_eq!(id_segment("/users/abc"), Some("abc"));
        assert_eq!(id_segment("/users/"), None);
        assert_eq!(id_segment("/users/abc/"), None);
        assert_eq!(id_segment("/users/abc/def"), None);
        assert_eq!(id_segment("/usersabc"), None);
    }
}
