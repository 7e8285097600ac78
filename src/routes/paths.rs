//! Every path template of the API, each written once: the route table
//! ([`super::table`]) and the handlers' OpenAPI attributes name these
//! constants. A leaf module, so both can import it without importing each
//! other.

pub const INDEX: &str = "/";
pub const STATIC: &str = "/static/{file}";
pub const OPENAPI: &str = "/openapi.json";
pub const METRICS: &str = "/metrics";
pub const HEALTH: &str = "/health";
pub const READY: &str = "/ready";
pub const USERS: &str = "/users";
pub const USER: &str = "/users/{id}";
