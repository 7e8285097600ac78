//! Cross-origin access for the configured origins (actix-cors), with its
//! refusals of a preflight in the API's error shape.
//!
//! actix-cors answers a preflight from another origin, or one asking for a
//! method or header this API does not use, with a plain-text 400. [`Cors`]
//! wraps its middleware and turns that into a JSON 400 `bad_request` with
//! the same message. One middleware, not two: with no origins configured
//! the app wraps it in a disabled `Condition`, and a second disabled layer
//! (a `from_fn` beside actix-cors) cost every GET by id 0.5-0.6 % more
//! instructions (`benches/instructions.py`: 34,272-34,277 against
//! 34,061-34,103; this way 34,049).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::{header, Method};
use actix_web::{Error, ResponseError};
use futures_util::future::LocalBoxFuture;

use super::conditions;
use crate::error::ApiError;

/// actix-cors set up for `origins` (`*` for any), refusals in JSON.
pub(super) struct Cors(actix_cors::Cors);

impl Cors {
    /// The methods and headers this API uses; a request from a foreign
    /// origin is served without CORS headers (the browser then hides the
    /// answer) instead of being failed, so same-origin requests that carry
    /// an `Origin` header keep working.
    pub(super) fn new(origins: &[String]) -> Self {
        let mut cors = actix_cors::Cors::default()
            .allowed_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allowed_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                header::IF_MATCH,
                header::IF_NONE_MATCH,
                header::HeaderName::from_static(conditions::IDEMPOTENCY_KEY),
            ])
            .expose_headers([
                header::LOCATION,
                header::LINK,
                header::RETRY_AFTER,
                header::WWW_AUTHENTICATE,
                header::ETAG,
                header::HeaderName::from_static(conditions::IDEMPOTENT_REPLAYED),
            ])
            .max_age(3600)
            .block_on_origin_mismatch(false);
        for origin in origins {
            cors = if origin == "*" {
                cors.allow_any_origin()
            } else {
                cors.allowed_origin(origin)
            };
        }
        Self(cors)
    }
}

impl<S, B> Transform<S, ServiceRequest> for Cors
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type InitError = ();
    type Transform = JsonRefusals<actix_cors::CorsMiddleware<S>>;
    type Future = LocalBoxFuture<'static, Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let cors = self.0.new_transform(service);
        Box::pin(async move { Ok(JsonRefusals { cors: cors.await? }) })
    }
}

/// The CORS middleware with its refusals rewritten.
pub(super) struct JsonRefusals<M> {
    cors: M,
}

impl<M, B> Service<ServiceRequest> for JsonRefusals<M>
where
    M: Service<ServiceRequest, Response = ServiceResponse<EitherBody<B>>, Error = Error>,
    M::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Error>>;

    forward_ready!(cors);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let answer = self.cors.call(req);
        Box::pin(async move {
            let response = answer.await?;
            let refusal = response
                .response()
                .error()
                .and_then(|error| error.as_error::<actix_cors::CorsError>())
                .map(ToString::to_string);
            Ok(match refusal {
                None => response,
                Some(message) => {
                    let (req, _) = response.into_parts();
                    let json = ApiError::bad_request(message).error_response();
                    ServiceResponse::new(req, json).map_into_right_body()
                }
            })
        })
    }
}
