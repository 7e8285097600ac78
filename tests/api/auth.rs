use reqwest::StatusCode;
use serde_json::json;

use user_service::config::Settings;

use crate::helpers::assert_error;

const TOKEN: &str = "s3cret-token";

fn with_token(settings: &mut Settings) {
    settings.api_tokens = vec![TOKEN.to_owned()];
}

on_every_backend! {
    #[tokio::test]
    async fn without_a_token_users_requests_are_401_with_www_authenticate() {
        let app = spawn_app_with(with_token).await;
        let requests = [
            app.client.get(app.url("/users")),
            app.client
                .post(app.url("/users"))
                .json(&json!({"email": "a@b.co", "name": "A"})),
            app.client
                .get(app.url("/users/0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10")),
            app.client
                .delete(app.url("/users/0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10")),
            app.client.get(app.url("/users")).bearer_auth("wrong"),
            app.client
                .get(app.url("/users"))
                .bearer_auth(format!("{TOKEN}x")),
            app.client
                .get(app.url("/users"))
                .basic_auth("user", Some(TOKEN)),
            app.client
                .get(app.url("/users"))
                .header("authorization", TOKEN),
        ];
        for (i, request) in requests.into_iter().enumerate() {
            let response = request.send().await.unwrap();
            assert_eq!(
                response.headers()["www-authenticate"],
                "Bearer",
                "request {i}"
            );
            let body = assert_error(
                response,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                None,
                &format!("request {i}"),
            )
            .await;
            assert!(
                !body.to_string().contains(TOKEN),
                "the token is never echoed"
            );
        }
    }

    #[tokio::test]
    async fn the_token_is_checked_before_anything_else() {
        let app = spawn_app_with(with_token).await;
        let requests = [
            ("bad id", app.client.get(app.url("/users/not-a-uuid"))),
            ("unknown route", app.client.get(app.url("/users/a/b"))),
            ("wrong method", app.client.put(app.url("/users"))),
            ("not json", app.client.post(app.url("/users")).body("x")),
            ("bad limit", app.client.get(app.url("/users?limit=0"))),
            (
                "huge body",
                app.client
                    .post(app.url("/users"))
                    .header("content-type", "application/json")
                    .body("x".repeat(100_000)),
            ),
        ];
        for (case, request) in requests {
            let response = request.send().await.unwrap();
            assert_error(
                response,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                None,
                case,
            )
            .await;
        }
    }

    #[tokio::test]
    async fn with_the_token_the_api_works() {
        let app = spawn_app_with(with_token).await;
        let response = app
            .client
            .post(app.url("/users"))
            .bearer_auth(TOKEN)
            .json(&json!({"email": "ada@example.com", "name": "Ada"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let response = app
            .client
            .get(app.url("/users"))
            .header("authorization", format!("bearer {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn health_and_ready_stay_open_with_a_token() {
        let app = spawn_app_with(with_token).await;
        assert_eq!(app.get("/health").await.status(), StatusCode::OK);
        assert_eq!(app.get("/ready").await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn over_the_rate_limit_a_client_gets_429_with_retry_after_but_health_stays_open() {
    use std::num::NonZeroU32;
    use user_service::routes::{Rate, RateLimitSetting};

    let app = crate::helpers::spawn_app_with(|s| {
        s.rate_limit = Some(RateLimitSetting {
            rate: Rate::PerSecond(NonZeroU32::new(1).unwrap()),
            burst: NonZeroU32::new(3).unwrap(),
        })
    })
    .await;
    for i in 0..3 {
        assert_eq!(
            app.get("/users").await.status(),
            StatusCode::OK,
            "request {i} is within the burst"
        );
    }
    let response = app.get("/users").await;
    assert_eq!(response.headers()["retry-after"], "1");
    assert_error(
        response,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        None,
        "over the limit",
    )
    .await;
    for _ in 0..10 {
        assert_eq!(app.get("/health").await.status(), StatusCode::OK);
        assert_eq!(app.get("/ready").await.status(), StatusCode::OK);
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        app.get("/users").await.status(),
        StatusCode::OK,
        "the rate refills"
    );
}
