//! Black-box tests of the HTTP API: a real server on a random port over a
//! fresh SQLite file per test, driven with a real HTTP client.

mod auth;
mod concurrency;
mod create;
mod delete;
mod get;
mod health;
mod helpers;
mod list;
mod middleware;
mod routing;
mod storage_cap;
mod update;
