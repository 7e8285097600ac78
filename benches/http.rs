//! The JSON endpoints in process, through the same app factory the server
//! uses (no sockets): what actix, routing, extraction, storage and
//! serialisation cost together.

use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service, TestRequest};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use user_service::routes::{app, ApiTokens, HttpSettings, Metrics};
use user_service::storage::sqlite::{Durability, SqliteOptions, SqliteStore};
use user_service::storage::StorageMetrics;

fn http(c: &mut Criterion) {
    let rt = actix_web::rt::System::new();
    let dir = tempfile::tempdir().unwrap();
    let storage_metrics = StorageMetrics::new();
    let metrics = Metrics::new(storage_metrics.collectors());
    let store = SqliteStore::open(&SqliteOptions {
        path: dir.path().join("bench.db"),
        durability: Durability::Full,
        max_size: None,
        readers: 4,
        // As the server has it, so GET by id is measured as served.
        read_cache: user_service::config::DEFAULT_READ_CACHE,
        mmap_size: user_service::config::DEFAULT_MMAP_SIZE,
        serving: false,
        backups: None,
        metrics: storage_metrics,
        key_ttl: user_service::storage::DEFAULT_KEY_TTL,
    })
    .unwrap();
    let settings = HttpSettings {
        api_tokens: ApiTokens::default(),
        cors_origins: Vec::new(),
        metrics,
        rate_limiter: None,
        hsts: false,
    };
    let service = rt.block_on(init_service(app(store.clone(), &settings)));
    let mut ids = Vec::new();
    rt.block_on(async {
        for i in 0..500 {
            let request = TestRequest::post()
                .uri("/users")
                .set_json(json!({"email": format!("http{i}@example.com"), "name": "Bench"}))
                .to_request();
            let response = call_service(&service, request).await;
            let location = response
                .headers()
                .get("location")
                .unwrap()
                .to_str()
                .unwrap();
            ids.push(location.to_owned());
        }
    });

    let mut i = 0;
    c.bench_function("http/get_user", |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            let request = TestRequest::get().uri(&ids[i]).to_request();
            let response = rt.block_on(call_service(&service, request));
            assert_eq!(response.status(), StatusCode::OK);
        })
    });
    c.bench_function("http/list_100", |b| {
        b.iter(|| {
            let request = TestRequest::get().uri("/users?limit=100").to_request();
            let response = rt.block_on(call_service(&service, request));
            assert_eq!(response.status(), StatusCode::OK);
        })
    });
    c.bench_function("http/error_bad_id", |b| {
        b.iter(|| {
            let request = TestRequest::get().uri("/users/not-a-uuid").to_request();
            let response = rt.block_on(call_service(&service, request));
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        })
    });
    let mut n = 0;
    c.bench_function("http/create_user", |b| {
        b.iter(|| {
            n += 1;
            let request = TestRequest::post()
                .uri("/users")
                .set_json(json!({"email": format!("new{n}@example.com"), "name": "Bench"}))
                .to_request();
            let response = rt.block_on(call_service(&service, request));
            assert_eq!(response.status(), StatusCode::CREATED);
        })
    });
    store.close();
}

criterion_group!(benches, http);
criterion_main!(benches);
