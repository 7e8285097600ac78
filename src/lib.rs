//! user-service: a user-management REST service in one self-contained
//! binary, storing users in an embedded SQLite file, or in PostgreSQL.
//!
//! # Layout
//! - [`config`]: command-line flags and environment, validated into
//!   [`config::Settings`].
//! - [`startup`]: [`startup::Application`] opens the store, binds, serves and
//!   shuts down.
//! - [`error`]: [`error::ApiError`], the one type that becomes an HTTP error.
//! - [`logging`]: stderr logging; `info` lines batched, never blocking a request.
//! - [`commands`]: the sub-commands (`serve`, `migrate`, `backup`, `export`,
//!   `import`) that open a backend and run.
//! - [`probe`]: `wait-ready`, a dependency-free readiness poll for systemd
//!   (over HTTPS too).
//! - [`tls`]: HTTPS for the listener: certificates from PEM files, client
//!   certificates, reloads on SIGHUP and on file changes.
//! - [`domain`]: `Email`, `UserName`, `UserId`, `User`… parsed at the boundary;
//!   no actix, no SQL.
//! - [`routes`]: the route table, the dispatch to handlers, request shapes,
//!   middleware, HTTP metrics and the OpenAPI document; [`routes::app`]
//!   assembles the actix `App` for servers, tests and benches. The only
//!   place (beside the entry point) that knows actix.
//! - [`storage`]: the [`storage::UserStore`] interface, cursors and errors;
//!   [`storage::sqlite`] implements it with one writer thread and a read pool,
//!   [`storage::postgres`] with a connection pool, for any number of instances.
//! - [`transfer`]: `export` and `import` between NDJSON/CSV files and any backend.
//!
//! Layers point one way: entry (`main`, `config`, `startup`, `commands`,
//! `logging`, `probe`, `tls`) → routes, transfer, storage, backends; routes and
//! transfer → storage → domain; each backend → storage, domain. The rules and
//! their reasons are in `tests/architecture.rs`, which enforces them.

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
pub mod tls;
pub mod transfer;
