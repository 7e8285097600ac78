//! The floor for load tests: a bare actix-web server that answers the same
//! routes with a fixed JSON user and no database, so the harness can say how
//! close user-service gets to what actix alone costs on the same core.
//!
//! `cargo run --release --example floor -- 127.0.0.1:3100 1` (address, workers)

use actix_web::{web, App, HttpResponse, HttpServer};
use serde::Serialize;

#[derive(Serialize)]
struct User {
    id: String,
    email: &'static str,
    name: &'static str,
    created_at: &'static str,
    updated_at: &'static str,
}

async fn get_user(id: web::Path<String>) -> HttpResponse {
    HttpResponse::Ok().json(User {
        id: id.into_inner(),
        email: "ada@example.com",
        name: "Ada Lovelace",
        created_at: "2026-11-24T11:30:00.123456Z",
        updated_at: "2026-11-24T11:30:00.123456Z",
    })
}

async fn create_user(body: web::Json<serde_json::Value>) -> HttpResponse {
    HttpResponse::Created().json(body.into_inner())
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().body("OK")
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3100".into());
    let workers: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(1);
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| {
            App::new()
                .route("/health", web::get().to(health))
                .route("/users", web::post().to(create_user))
                .route("/users/{id}", web::get().to(get_user))
        })
        .workers(workers)
        .bind(addr)?
        .run()
        .await
    })
}
