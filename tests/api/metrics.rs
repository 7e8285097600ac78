//! `/metrics`: known requests move the counters and histograms by exactly
//! what they should, read back with a real Prometheus text parser.

use openmetrics_parser::prometheus::parse_prometheus;
use openmetrics_parser::{MetricsExposition, PrometheusType, PrometheusValue};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

type Scrape = MetricsExposition<PrometheusType, PrometheusValue>;

async fn scrape(app: &TestApp, token: Option<&str>) -> Scrape {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    parse_prometheus(&text).unwrap_or_else(|e| panic!("not Prometheus text: {e:?}\n{text}"))
}

/// The value of family `name`'s sample whose labels include all of `labels`.
fn sample<'a>(
    scrape: &'a Scrape,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<&'a PrometheusValue> {
    scrape.families.get(name)?.iter_samples().find_map(|s| {
        let set = s.get_labelset().ok()?;
        labels
            .iter()
            .all(|(k, v)| set.get_label_value(k) == Some(*v))
            .then_some(&s.value)
    })
}

fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    sample(scrape, name, labels).map(|v| match v {
        PrometheusValue::Gauge(n) | PrometheusValue::Unknown(n) => n.as_f64(),
        PrometheusValue::Counter(c) => c.value.as_f64(),
        other => panic!("{name} is not a plain value: {other:?}"),
    })
}

/// The cumulative buckets `(upper bound, count)` and the count of histogram
/// `name` with `labels`.
fn histogram(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> (Vec<(f64, f64)>, u64) {
    match sample(scrape, name, labels) {
        Some(PrometheusValue::Histogram(h)) => (
            h.buckets
                .iter()
                .map(|b| (b.upper_bound, b.count.as_f64()))
                .collect(),
            h.count.unwrap_or(0),
        ),
        other => panic!("{name} {labels:?} is not a histogram: {other:?}"),
    }
}

fn count(scrape: &Scrape, route: &str, method: &str, status: &str) -> f64 {
    value(
        scrape,
        "user_service_http_requests_total",
        &[("route", route), ("method", method), ("status", status)],
    )
    .unwrap_or(0.0)
}

on_every_backend! {
    #[tokio::test]
    async fn known_requests_move_the_counters_and_histograms_exactly() {
        let app = spawn_app().await;
        for _ in 0..3 {
            app.get("/health").await;
        }
        let ada = app.create_user("ada@example.com", "Ada").await;
        app.create_user("bob@example.com", "Bob").await;
        let taken = app.post_user(&json!({"email": "ada@example.com", "name": "Again"})).await;
        assert_eq!(taken.status(), StatusCode::CONFLICT);
        app.get_user(ada["id"].as_str().unwrap()).await;
        app.get_user("0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10").await;
        app.get("/wp-login.php").await;

        let scrape = scrape(&app, None).await;
        assert_eq!(count(&scrape, "/health", "GET", "200"), 3.0);
        assert_eq!(count(&scrape, "/users", "POST", "201"), 2.0);
        assert_eq!(count(&scrape, "/users", "POST", "409"), 1.0);
        assert_eq!(count(&scrape, "/users/{id}", "GET", "200"), 1.0);
        assert_eq!(count(&scrape, "/users/{id}", "GET", "404"), 1.0);
        assert_eq!(count(&scrape, "unmatched", "GET", "404"), 1.0, "raw paths never become labels");

        let (posts, total) = histogram(
            &scrape,
            "user_service_http_request_duration_seconds",
            &[("route", "/users"), ("method", "POST")],
        );
        assert_eq!(total, 3);
        assert!(posts.len() >= 10, "{posts:?}");
        assert!(posts.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "cumulative: {posts:?}");
        assert_eq!(posts.last().unwrap(), &(f64::INFINITY, 3.0));

        assert_eq!(value(&scrape, "user_service_http_requests_in_flight", &[]), Some(1.0), "the scrape itself");
        assert_eq!(value(&scrape, "user_service_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), Some(1.0));
        assert!(value(&scrape, "user_service_database_size_bytes", &[]).unwrap() > 0.0);
        assert!(value(&scrape, "user_service_db_pool_connections", &[("state", "open")]).unwrap() >= 1.0);
        histogram(&scrape, "user_service_db_pool_wait_seconds", &[]);
    }

    #[tokio::test]
    async fn metrics_need_the_token_when_one_is_configured() {
        let app = spawn_app_with(|s| s.api_tokens = vec!["m3trics".into()]).await;
        let response = app.get("/metrics").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let wrong = app.get_with("/users", ("authorization", "Bearer guess")).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let scrape = scrape(&app, Some("m3trics")).await;
        assert_eq!(count(&scrape, "/metrics", "GET", "401"), 1.0);
        assert_eq!(value(&scrape, "user_service_auth_rejected_total", &[]), Some(2.0), "brute force is counted");
    }
}

#[tokio::test]
async fn sqlite_writer_batches_and_commits_are_recorded() {
    let app = crate::helpers::spawn_app().await;
    for i in 0..4 {
        app.create_user(&format!("u{i}@example.com"), "U").await;
    }
    let scrape = scrape(&app, None).await;
    let (sizes, batches) = histogram(&scrape, "user_service_writer_batch_size", &[]);
    assert!(
        (1..=4).contains(&batches),
        "{batches} batches for 4 sequential writes"
    );
    assert_eq!(sizes.last().unwrap().1, batches as f64);
    let (_, commits) = histogram(&scrape, "user_service_writer_commit_seconds", &[]);
    assert_eq!(commits, batches);
    let (_, waits) = histogram(&scrape, "user_service_writer_queue_wait_seconds", &[]);
    assert_eq!(waits, 4, "one queue wait per write");
    assert_eq!(
        value(&scrape, "user_service_writer_queue_depth", &[]),
        Some(0.0)
    );
}

#[tokio::test]
async fn sqlite_read_cache_hits_and_misses_are_counted_and_writes_show_through() {
    let app = crate::helpers::spawn_app().await;
    let ada = app.create_user("ada@example.com", "Ada").await;
    let id = ada["id"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(app.get_user(id).await.status(), StatusCode::OK);
    }
    // A change goes through the cache: the next read sees it, from the cache.
    let renamed = app
        .client
        .patch(app.url(&format!("/users/{id}")))
        .json(&serde_json::json!({"name": "Ada L"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);
    let read: serde_json::Value = app.get_user(id).await.json().await.unwrap();
    assert_eq!(read["name"], "Ada L");
    let scrape = scrape(&app, None).await;
    let lookups = |result| {
        value(
            &scrape,
            "user_service_read_cache_lookups_total",
            &[("result", result)],
        )
    };
    assert_eq!(
        lookups("miss"),
        Some(1.0),
        "only the first read went to SQLite"
    );
    assert_eq!(lookups("hit"), Some(3.0));
}
