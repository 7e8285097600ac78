//! Black-box tests of the HTTP API: a real server on a random port, driven
//! with a real HTTP client. Every test inside `on_every_backend!` runs twice,
//! as `…::sqlite::name` on a fresh SQLite file and as `…::postgres::name` on
//! a fresh schema of `TEST_DATABASE_URL` (skipped, with one loud line
//! saying so, when that is unset; a failure instead under `CI=true`).
//! `browser` drives the web page in headless Chromium against the same kind
//! of server.

/// Declares each test once per backend, with that backend's `spawn_app` and
/// `spawn_app_with` in scope. Only tests go inside; helpers stay outside.
macro_rules! on_every_backend {
    ($( $(#[$meta:meta])* async fn $name:ident() $body:block )*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use crate::helpers::sqlite::{spawn_app, spawn_app_with};
            $( $(#[$meta])* async fn $name() $body )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use crate::helpers::postgres::{spawn_app, spawn_app_with};
            $(
                $(#[$meta])*
                async fn $name() {
                    if crate::helpers::postgres::skipped() {
                        return;
                    }
                    $body
                }
            )*
        }
    };
}

mod auth;
mod browser;
mod concurrency;
mod conditional;
mod connection_loss;
mod create;
mod delete;
mod get;
mod health;
mod helpers;
mod idempotency;
mod list;
mod metrics;
mod middleware;
mod openapi;
mod page;
#[path = "../support/postgres.rs"]
mod pg_support;
mod postgres_schema;
mod routing;
mod scale_out;
mod search;
#[path = "../support/skip.rs"]
mod skip;
mod storage_cap;
mod tls;
mod update;
