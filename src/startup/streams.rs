//! A bound on the requests one HTTP/2 connection has in progress.
//!
//! HTTP/2 multiplexes any number of streams over one connection, and
//! actix-http advertises no `SETTINGS_MAX_CONCURRENT_STREAMS` (its h2
//! builder is not configurable), so one client could make the server work
//! on any number of requests and hold their responses at once (measured:
//! 1,000 concurrent page requests on one connection took the server from 12
//! to 78 MiB; BENCHMARKS.md, "HTTP/2"). The listener marks each HTTP/2
//! connection with a [`StreamLimit`], and [`LimitStreams`] wraps the app:
//! at most [`MAX_STREAMS_IN_FLIGHT`] requests on one connection are handled
//! at once; the next ones wait their turn, in order, as they would in a
//! client that had been told the limit, so a well-behaved client sees
//! latency, never an error. A request keeps its place until its response
//! body has been sent (or dropped), since that is what the server holds.
//! Only a client with more than [`MAX_STREAMS_WAITING`] further requests
//! waiting on one connection is refused, with 429 and `Retry-After`.
//!
//! The wrapper sits outside the app, at the connection's level: an
//! HTTP/1.1 request (unmarked: one at a time by nature) costs one lookup
//! and is passed through with no allocation.

use std::cell::Cell;
use std::future::{ready, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_http::body::{BodySize, BoxBody, MessageBody};
use actix_http::{Request, Response};
use actix_service::{Service, Transform};
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::ResponseError;
use futures_util::future::{Either, LocalBoxFuture};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;
use crate::routes;

/// Requests handled at once on one HTTP/2 connection; the value nginx and
/// Apache advertise (128 and 100), and what browsers expect.
pub const MAX_STREAMS_IN_FLIGHT: usize = 100;

/// Requests that may wait for a place on one connection before further
/// ones are refused: a bound on what a flood of streams can make the
/// server hold (a waiting request is its head and a small future).
pub const MAX_STREAMS_WAITING: usize = 1_000;

/// One HTTP/2 connection's places, kept in its connection data.
#[derive(Clone)]
pub struct StreamLimit(Rc<Places>);

struct Places {
    free: Arc<Semaphore>,
    waiting: Cell<usize>,
}

impl Default for StreamLimit {
    fn default() -> Self {
        Self(Rc::new(Places {
            free: Arc::new(Semaphore::new(MAX_STREAMS_IN_FLIGHT)),
            waiting: Cell::new(0),
        }))
    }
}

impl StreamLimit {
    /// A place for one request: at once if one is free, else after waiting
    /// for one (first come, first served); `None` when too many wait.
    async fn place(&self) -> Option<OwnedSemaphorePermit> {
        let places = &self.0;
        if let Ok(permit) = Arc::clone(&places.free).try_acquire_owned() {
            return Some(permit);
        }
        if places.waiting.get() >= MAX_STREAMS_WAITING {
            return None;
        }
        let _waiting = Waiting::new(&places.waiting);
        // The semaphore is never closed, so this waits rather than fails.
        Arc::clone(&places.free).acquire_owned().await.ok()
    }
}

/// One request counted as waiting until it has a place or is dropped
/// (the client reset the stream).
struct Waiting<'a>(&'a Cell<usize>);

impl<'a> Waiting<'a> {
    fn new(count: &'a Cell<usize>) -> Self {
        count.set(count.get() + 1);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

type Answer = Result<Response<BoxBody>, Response<BoxBody>>;

/// Wraps the app's service with the limit (actix-service's `apply`).
pub struct LimitStreams;

impl<S> Transform<S, Request> for LimitStreams
where
    S: Service<Request, Response = Response<BoxBody>, Error = Response<BoxBody>> + 'static,
{
    type Response = Response<BoxBody>;
    type Error = Response<BoxBody>;
    type Transform = Limited<S>;
    type InitError = ();
    type Future = Ready<Result<Limited<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(Limited(Rc::new(service))))
    }
}

/// The app's service behind the limit.
pub struct Limited<S>(Rc<S>);

impl<S> Service<Request> for Limited<S>
where
    S: Service<Request, Response = Response<BoxBody>, Error = Response<BoxBody>> + 'static,
{
    type Response = Response<BoxBody>;
    type Error = Response<BoxBody>;
    type Future = Either<S::Future, LocalBoxFuture<'static, Answer>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&self, req: Request) -> Self::Future {
        let Some(limit) = req.conn_data::<StreamLimit>().cloned() else {
            return Either::Left(self.0.call(req));
        };
        let app = Rc::clone(&self.0);
        Either::Right(Box::pin(async move {
            let Some(place) = limit.place().await else {
                return Ok(refused());
            };
            // An error answer is small and lets its place go at once.
            let response = app.call(req).await?;
            Ok(response.map_body(|_, body| BoxBody::new(Held { body, place })))
        }))
    }
}

/// 429 with `Retry-After`, and HSTS as on every answer over TLS (HTTP/2
/// is only spoken over TLS; this answer never reaches the app's headers).
fn refused() -> Response<BoxBody> {
    let mut response = ApiError::RateLimited { retry_after: 1 }.error_response();
    response.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(routes::HSTS),
    );
    Response::from(response)
}

pin_project_lite::pin_project! {
    /// A response body that holds its request's place until sent; never
    /// turned into plain bytes (the default), which would drop the place
    /// before the body leaves.
    struct Held {
        #[pin]
        body: BoxBody,
        place: OwnedSemaphorePermit,
    }
}

impl MessageBody for Held {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.project().body.poll_next(cx)
    }
}
