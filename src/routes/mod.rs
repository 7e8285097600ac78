//! The HTTP surface: routes, handlers, request/response shapes, and the
//! turning of actix's own rejections into API errors. The only module that
//! knows actix.

mod app;
mod auth;
mod compression;
mod conditions;
mod cors;
mod dispatch;
mod dto;
mod health;
mod http_metrics;
mod json_object;
mod metrics;
mod next_link;
mod openapi;
mod page;
mod paths;
mod rate_limit;
mod rejection;
mod request_id;
mod schema;
mod table;
mod users;

pub use app::{app, HttpSettings, HSTS};
pub use auth::ApiTokens;
pub use compression::MIN_COMPRESSED_BYTES;
pub use http_metrics::Metrics;
pub use openapi::{document as openapi_document, generate as generate_openapi_document};
pub use rate_limit::{parse_rate, Rate, RateLimitSetting, RateLimiter};
pub use table::{Route, RouteSpec, TABLE};
