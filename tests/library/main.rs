//! Tests of the library's own interfaces, without a server: the storage
//! contract on both backends (`store`) and property tests of the boundary
//! parsers and the cursor codec (`properties`). One binary, so one link.

mod properties;
mod store;
