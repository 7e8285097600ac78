//! user-service: a user-management REST service in one self-contained
//! binary, storing users in an embedded SQLite file, or in PostgreSQL.
//!
//! # Layout
//! - [`config`]: command-line flags and environment, validated.
//! - [`startup`]: [`startup::Application`] binds, serves and shuts down;
//!   [`startup::app`] assembles the actix `App` for servers, tests and benches.
//! - [`error`]: [`error::ApiError`], the one type that becomes an HTTP error.
//! - [`logging`]: stderr logging; `info` lines batched, never blocking a request.
//! - [`metrics`]: the Prometheus registry of one running service.
//! - [`probe`]: `wait-ready`, a dependency-free readiness poll for systemd.
//! - [`domain`]: `Email`, `UserName`, `UserId`, `User`… parsed at the boundary;
//!   no actix, no SQL.
//! - [`routes`]: handlers and request/response shapes; the only place that
//!   knows actix.
//! - [`storage`]: the [`storage::UserStore`] interface, cursors and errors;
//!   [`storage::sqlite`] implements it with one writer thread and a read pool,
//!   [`storage::postgres`] with a connection pool, for any number of instances.
//! - [`transfer`]: `export` and `import` between NDJSON/CSV files and any backend.
//!
//! Calls flow one way: routes → domain → storage, and transfer → domain → storage.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod commands;
pub mod config;
pub mod domain;
pub mod error;
pub mod logging;
pub mod probe;
pub mod routes;
pub mod startup;
pub mod storage;
pub mod transfer;
