//! Every path template the router registers, as the OpenAPI document writes
//! them; also the metrics' `route` label values. A leaf module, so the
//! router, the metrics and the handlers can all name them without importing
//! each other. A test checks this list, the document and the live server
//! against each other, so a route cannot be added to one and forgotten in
//! another.

pub const PATHS: [&str; 8] = [
    "/",
    "/static/{file}",
    "/openapi.json",
    "/metrics",
    "/health",
    "/ready",
    "/users",
    "/users/{id}",
];
