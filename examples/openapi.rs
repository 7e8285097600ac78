//! Prints the OpenAPI document the code describes, for `docs/openapi.json`
//! (which the binary serves):
//! `cargo run --example openapi > docs/openapi.json`.

fn main() {
    println!("{}", user_service::routes::generate_openapi_document());
}
