//! Tests of the library's own interfaces, without a server: the storage
//! contract on both backends (`store`), TLS to a PostgreSQL that requires it
//! (`postgres_tls`; the contract runs over it too) and property tests of the boundary parsers and the
//! cursor codec (`properties`). One binary, so one link.

mod postgres_tls;
mod properties;
#[path = "../support/skip.rs"]
mod skip;
mod store;
#[path = "../support/postgres.rs"]
mod support;
