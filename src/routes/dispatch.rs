//! From a matched route and a method to its handler: the one place where
//! requests meet handlers. The table ([`super::table`]) says what a route
//! is; the `match` below says who answers it, and is exhaustive on
//! [`Route`], so a route added to the table without a handler does not
//! build.

use std::rc::Rc;
use std::sync::Arc;

use actix_web::dev::JsonBody;
use actix_web::http::Method;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};

use super::auth::{self, ApiTokens};
use super::conditions;
use super::dto::{CreateUserRequest, ListParams, UpdateUserRequest};
use super::http_metrics::Metrics;
use super::json_object::Object;
use super::rejection::{json_rejection, query, DEFAULT_BODY_LIMIT};
use super::table::{self, Route};
use super::{health, metrics, openapi, page, users};
use crate::domain::{RetryableCreate, UserId};
use crate::error::{ApiError, ApiResult};
use crate::storage::UserStore;

/// What every handler may need, shared by one worker's requests.
struct Served<S> {
    store: S,
    tokens: ApiTokens,
    metrics: Arc<Metrics>,
}

/// The service that answers every request: registered as the `App`'s
/// default service, so actix's own router is never consulted.
pub fn service<S: UserStore>(
    store: S,
    tokens: ApiTokens,
    metrics: Arc<Metrics>,
) -> actix_web::Route {
    let served = Rc::new(Served {
        store,
        tokens,
        metrics,
    });
    web::to(move |req: HttpRequest, payload: web::Payload| {
        let served = Rc::clone(&served);
        async move { dispatch(&served, req, payload).await }
    })
}

async fn dispatch<S: UserStore>(
    served: &Served<S>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let matched = table::matched(&req.extensions(), req.path());
    // The token comes before anything else about the request, so a
    // stranger learns nothing (no 400, 404 or 405) without it.
    if matched.needs_token && !served.tokens.allows(req.headers()) {
        auth::record_rejection(&served.metrics, &req);
        return Err(ApiError::Unauthorized);
    }
    let Some(spec) = matched.spec() else {
        return Err(ApiError::RouteNotFound);
    };
    let store = &served.store;
    let method = req.method().clone();
    // Read only on the users routes, and only for a method the route
    // answers: any other is a 405 whatever the header says.
    let key = match spec.route {
        Route::Users | Route::User if conditions::has_idempotency_key(req.headers()) => {
            let answered = spec.allow.split(", ").any(|m| m == method.as_str());
            answered
                .then(|| conditions::idempotency_key(req.headers()))
                .transpose()?
                .flatten()
        }
        _ => None,
    };
    let creates = spec.route == Route::Users && method == Method::POST;
    if let Some(key) = key.as_ref().filter(|_| !creates) {
        // A key names one create; reused on another route or method it is
        // refused, as long as it is kept.
        let owner = served.tokens.key_owner(req.headers());
        if store.key_is_kept(owner, key.clone()).await? {
            return Err(ApiError::IdempotencyKeyReused);
        }
    }
    // actix-http sends no body for HEAD; its headers are those of GET.
    let get = method == Method::GET || method == Method::HEAD;
    let not_allowed = || Err(ApiError::MethodNotAllowed { allow: spec.allow });
    match spec.route {
        Route::Users if get => {
            let params = query::<ListParams>(req.query_string())?;
            users::list_users(store, params).await
        }
        Route::Users if creates => {
            let retry = key.map(|key| RetryableCreate {
                owner: served.tokens.key_owner(req.headers()),
                key,
            });
            let body = json::<CreateUserRequest>(&req, payload).await?;
            users::create_user(store, body, retry).await
        }
        Route::Users => not_allowed(),
        Route::User => {
            if !(get || method == Method::PATCH || method == Method::DELETE) {
                return not_allowed();
            }
            // The path before the body: a malformed id is answered without
            // reading what was sent.
            let id = parse_id(matched.param(req.path()))?;
            match method {
                Method::PATCH => {
                    let expected = conditions::if_match(req.headers())?;
                    let body = json::<UpdateUserRequest>(&req, payload).await?;
                    users::update_user(store, id, body, expected).await
                }
                Method::DELETE => {
                    let expected = conditions::if_match(req.headers())?;
                    users::delete_user(store, id, expected).await
                }
                _ => {
                    let if_none_match = conditions::if_none_match(req.headers())?;
                    users::get_user(store, id, if_none_match).await
                }
            }
        }
        Route::Index if get => page::index(&req),
        Route::Static if get => page::static_asset(&req),
        Route::OpenApi if get => Ok(openapi::openapi_json()),
        Route::Metrics if get => Ok(metrics::metrics_text(store, &served.metrics).await),
        Route::Health if get => Ok(health::health()),
        Route::Ready if get => health::ready(store).await,
        Route::Index
        | Route::Static
        | Route::OpenApi
        | Route::Metrics
        | Route::Health
        | Route::Ready => not_allowed(),
    }
}

/// A JSON object body of at most [`DEFAULT_BODY_LIMIT`] bytes, sent as
/// `application/json`.
async fn json<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
) -> ApiResult<T> {
    JsonBody::<Object<T>>::new(req, &mut payload.into_inner(), None, true)
        .limit(DEFAULT_BODY_LIMIT)
        .await
        .map(|Object(body)| body)
        .map_err(json_rejection)
}

fn parse_id(raw: &str) -> ApiResult<UserId> {
    UserId::parse(raw).map_err(|e| ApiError::bad_request(e.to_string()))
}
