//! `Idempotency-Key` on `POST /users` (API.md "Conditional requests and
//! safe retries"), against a real server on each backend.

use std::time::Duration;

use futures::future::join_all;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

async fn post_keyed(app: &TestApp, key: &str, body: &Value) -> Response {
    post_keyed_as(app, key, body, None).await
}

async fn post_keyed_as(app: &TestApp, key: &str, body: &Value, token: Option<&str>) -> Response {
    let mut request = app
        .client
        .post(app.url("/users"))
        .header("idempotency-key", key)
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("POST /users")
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn count(app: &TestApp) -> usize {
    app.walk("/users?limit=1000").await.0.len()
}

on_every_backend! {
    #[tokio::test]
    async fn a_retry_with_the_same_key_and_body_replays_the_first_answer() {
        let app = spawn_app().await;
        let body = json!({"email": "ada@example.com", "name": "Ada"});
        let first = post_keyed(&app, "retry-1", &body).await;
        assert_eq!(first.status(), StatusCode::CREATED);
        assert_eq!(header(&first, "idempotent-replayed"), None);
        let (location, tag) = (header(&first, "location"), header(&first, "etag"));
        let created: Value = first.json().await.unwrap();

        // The user changes meanwhile; the replay is still the first answer.
        let id = created["id"].as_str().unwrap();
        assert_eq!(app.patch_user(id, &json!({"name": "Countess"})).await.status(), StatusCode::OK);
        // Retried as a client may resend it: other key order, case, spaces.
        let resent = json!({"name": " Ada", "email": "ADA@example.com "});
        for retry in [&body, &resent] {
            let again = post_keyed(&app, "retry-1", retry).await;
            assert_eq!(again.status(), StatusCode::CREATED);
            assert_eq!(header(&again, "idempotent-replayed").as_deref(), Some("true"));
            assert_eq!(header(&again, "location"), location);
            assert_eq!(header(&again, "etag"), tag);
            assert_eq!(again.json::<Value>().await.unwrap(), created);
        }
        assert_eq!(count(&app).await, 1, "nothing else was created");
    }

    #[tokio::test]
    async fn the_same_key_with_another_body_is_a_422_and_creates_nothing() {
        let app = spawn_app().await;
        post_keyed(&app, "k", &json!({"email": "ada@example.com", "name": "Ada"})).await;
        for other in [
            json!({"email": "bob@example.com", "name": "Ada"}),
            json!({"email": "ada@example.com", "name": "Ada L."}),
        ] {
            let response = post_keyed(&app, "k", &other).await;
            assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", None, "other body").await;
        }
        assert_eq!(count(&app).await, 1);
        // Keys are compared exactly: another case is another key.
        let response = post_keyed(&app, "K", &json!({"email": "bob@example.com", "name": "Bob"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    #[tokio::test]
    async fn a_key_used_on_another_route_or_method_is_a_422() {
        let app = spawn_app().await;
        let created: Value = post_keyed(&app, "used", &json!({"email": "ada@example.com", "name": "Ada"}))
            .await
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap();
        let path = app.url(&format!("/users/{id}"));
        for request in [
            app.client.patch(&path).json(&json!({"name": "X"})),
            app.client.delete(&path),
            app.client.get(&path),
            app.client.get(app.url("/users")),
        ] {
            let response = request.header("idempotency-key", "used").send().await.unwrap();
            assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", None, "elsewhere").await;
        }
        let user: Value = app.get_user(id).await.json().await.unwrap();
        assert_eq!(user["name"], "Ada", "nothing changed");
        // A method the route does not answer is a 405 whatever the key.
        let response = app.client.put(&path).header("idempotency-key", "two words")
            .send().await.unwrap();
        assert_error(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None, "PUT").await;
        // A key never used for a create is no obstacle elsewhere.
        let response = app.client.patch(&path).header("idempotency-key", "fresh")
            .json(&json!({"name": "Countess"})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn malformed_keys_are_400_and_create_nothing() {
        let app = spawn_app().await;
        let long = "k".repeat(256);
        for bad in ["", "   ", "two words", long.as_str()] {
            let response = post_keyed(&app, bad, &json!({"email": "ada@example.com", "name": "Ada"})).await;
            let body = assert_error(response, StatusCode::BAD_REQUEST, "bad_request", None, bad).await;
            assert!(body["error"].as_str().unwrap().contains("Idempotency-Key"), "{body}");
        }
        let response = app.client.post(app.url("/users"))
            .header("idempotency-key", reqwest::header::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap())
            .json(&json!({"email": "ada@example.com", "name": "Ada"})).send().await.unwrap();
        assert_error(response, StatusCode::BAD_REQUEST, "bad_request", None, "not ASCII").await;
        assert_eq!(count(&app).await, 0);
        // The longest key allowed works.
        let response = post_keyed(&app, &"k".repeat(255), &json!({"email": "ada@example.com", "name": "Ada"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    #[tokio::test]
    async fn a_failed_create_keeps_no_key() {
        let app = spawn_app().await;
        app.create_user("bob@example.com", "Bob").await;
        let taken = post_keyed(&app, "k", &json!({"email": "bob@example.com", "name": "Bob"})).await;
        assert_error(taken, StatusCode::CONFLICT, "conflict", Some("Email already exists"), "taken").await;
        let invalid = post_keyed(&app, "k", &json!({"email": "nope", "name": "Bob"})).await;
        assert_error(invalid, StatusCode::BAD_REQUEST, "validation", None, "invalid").await;
        let response = post_keyed(&app, "k", &json!({"email": "carol@example.com", "name": "Carol"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(header(&response, "idempotent-replayed"), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_requests_with_one_key_create_one_user() {
        let app = spawn_app().await;
        let body = json!({"email": "ada@example.com", "name": "Ada"});
        let answers = join_all((0..12).map(|_| async {
            let response = post_keyed(&app, "race", &body).await;
            let replayed = header(&response, "idempotent-replayed").is_some();
            (response.status(), replayed, response.json::<Value>().await.unwrap())
        }))
        .await;
        assert!(answers.iter().all(|(status, _, _)| *status == StatusCode::CREATED), "{answers:?}");
        assert_eq!(answers.iter().filter(|(_, replayed, _)| !replayed).count(), 1, "one original");
        assert!(answers.iter().all(|(_, _, user)| *user == answers[0].2), "one user in every answer");
        assert_eq!(count(&app).await, 1);
    }

    #[tokio::test]
    async fn with_tokens_each_client_has_keys_of_its_own() {
        let app = spawn_app_with(|s| s.api_tokens = vec!["token-a".into(), "token-b".into()]).await;
        let ada = json!({"email": "ada@example.com", "name": "Ada"});
        let bob = json!({"email": "bob@example.com", "name": "Bob"});
        let first = post_keyed_as(&app, "k", &ada, Some("token-a")).await;
        assert_eq!(first.status(), StatusCode::CREATED);
        // B cannot replay A's answer (nor is B refused for A's key).
        let theirs = post_keyed_as(&app, "k", &bob, Some("token-b")).await;
        assert_eq!(theirs.status(), StatusCode::CREATED);
        assert_eq!(header(&theirs, "idempotent-replayed"), None);
        let replay = post_keyed_as(&app, "k", &ada, Some("token-a")).await;
        assert_eq!(header(&replay, "idempotent-replayed").as_deref(), Some("true"));
        let other = post_keyed_as(&app, "k", &ada, Some("token-b")).await;
        assert_error(other, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", None, "B's key").await;
        // Without a token: 401 before anything about the key.
        let response = post_keyed(&app, "", &ada).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn an_expired_key_is_free_again() {
        let app = spawn_app_with(|s| s.idempotency_ttl = Duration::from_secs(1)).await;
        let first = post_keyed(&app, "k", &json!({"email": "ada@example.com", "name": "Ada"})).await;
        assert_eq!(first.status(), StatusCode::CREATED);
        tokio::time::sleep(Duration::from_millis(1_300)).await;
        let response = post_keyed(&app, "k", &json!({"email": "bob@example.com", "name": "Bob"})).await;
        assert_eq!(response.status(), StatusCode::CREATED, "a new request, not a 422");
        assert_eq!(header(&response, "idempotent-replayed"), None);
        let replay = post_keyed(&app, "k", &json!({"email": "bob@example.com", "name": "Bob"})).await;
        assert_eq!(header(&replay, "idempotent-replayed").as_deref(), Some("true"));
        assert_eq!(count(&app).await, 2);
    }
}
