//! Compression and CORS.

use std::io::Read;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::assert_error;

on_every_backend! {
    #[tokio::test]
    async fn json_responses_are_gzip_compressed_when_accepted() {
        let app = spawn_app().await;
        app.seed(50).await;
        let response = app.get_with("/users", ("accept-encoding", "gzip")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-encoding"], "gzip");
        let compressed = response.bytes().await.unwrap();
        let json = decoded("gzip", &compressed);
        let users: Vec<Value> = serde_json::from_slice(&json).unwrap();
        assert_eq!(users.len(), 50);
        assert!(compressed.len() < json.len() / 2);
    }

    #[tokio::test]
    async fn brotli_is_used_for_a_client_that_takes_only_brotli() {
        let app = spawn_app().await;
        app.seed(20).await;
        let plain = app.get("/users").await.bytes().await.unwrap();
        let response = app.get_with("/users", ("accept-encoding", "br")).await;
        assert_eq!(response.headers()["content-encoding"], "br");
        let compressed = response.bytes().await.unwrap();
        assert_eq!(decoded("br", &compressed), plain);
    }

    #[tokio::test]
    async fn a_browser_offering_every_coding_gets_gzip_and_caches_are_told() {
        let app = spawn_app().await;
        app.seed(20).await;
        let plain = app.get("/users").await;
        assert!(plain.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("accept-encoding"));
        let plain = plain.bytes().await.unwrap();
        let response = app
            .get_with("/users", ("accept-encoding", "gzip, deflate, br, zstd"))
            .await;
        assert_eq!(response.headers()["content-encoding"], "gzip");
        let length = content_length(&response);
        let compressed = response.bytes().await.unwrap();
        assert_eq!(compressed.len() as u64, length);
        assert_eq!(decoded("gzip", &compressed), plain);
    }

    #[tokio::test]
    async fn small_responses_are_sent_as_they_are_even_when_compression_is_accepted() {
        let app = spawn_app().await;
        let created = app
            .client
            .post(app.url("/users"))
            .header("accept-encoding", "gzip, deflate, br")
            .json(&serde_json::json!({"email": "ada@example.com", "name": "Ada"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        assert!(created.headers().get("content-encoding").is_none());
        let user: Value = created.json().await.unwrap();
        let id = user["id"].as_str().unwrap();
        for (path, status) in [
            (format!("/users/{id}"), StatusCode::OK),
            ("/users/not-a-uuid".to_owned(), StatusCode::BAD_REQUEST),
            ("/users?limit=1".to_owned(), StatusCode::OK),
        ] {
            let response = app.get_with(&path, ("accept-encoding", "gzip, br")).await;
            assert_eq!(response.status(), status, "{path}");
            assert!(
                response.headers().get("content-encoding").is_none(),
                "{path}: {:?}",
                response.headers()
            );
            let length = content_length(&response);
            assert!(length < user_service::routes::MIN_COMPRESSED_BYTES, "{path}");
            let body: Value = response.json().await.unwrap();
            assert!(body.is_object() || body.is_array(), "{path}: {body}");
        }
    }

    #[tokio::test]
    async fn a_page_too_large_to_compress_on_the_worker_still_decodes_whole() {
        let app = spawn_app().await;
        app.seed(400).await;
        let plain = app.get("/users?limit=1000").await.bytes().await.unwrap();
        assert!(plain.len() > 64 * 1024, "{} bytes", plain.len());
        for (accept, coding) in [("gzip", "gzip"), ("br", "br")] {
            let response = app
                .get_with("/users?limit=1000", ("accept-encoding", accept))
                .await;
            assert_eq!(response.headers()["content-encoding"], coding);
            let compressed = response.bytes().await.unwrap();
            assert_eq!(decoded(coding, &compressed), plain, "{coding}");
        }
    }

    #[tokio::test]
    async fn responses_are_not_compressed_unless_asked() {
        let app = spawn_app().await;
        app.create_user("ada@example.com", "Ada").await;
        let response = app.get("/users").await;
        assert!(response.headers().get("content-encoding").is_none());
    }

    #[tokio::test]
    async fn without_configured_origins_there_is_no_cross_origin_access() {
        let app = spawn_app().await;
        let response = app
            .get_with("/users", ("origin", "https://evil.example"))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response
            .headers()
            .get("access-control-allow-origin")
            .is_none());
    }

    #[tokio::test]
    async fn a_configured_origin_gets_cors_headers_and_others_do_not() {
        let app = spawn_app_with(|s| s.cors_origins = vec!["https://admin.example.com".into()]).await;
        let preflight = app
            .client
            .request(reqwest::Method::OPTIONS, app.url("/users"))
            .header("origin", "https://admin.example.com")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, authorization, idempotency-key, if-match",
            )
            .send()
            .await
            .unwrap();
        assert!(preflight.status().is_success(), "{}", preflight.status());
        let allowed = preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        for name in ["idempotency-key", "if-match", "if-none-match"] {
            assert!(allowed.contains(name), "{name} in {allowed}");
        }
        assert_eq!(
            preflight.headers()["access-control-allow-origin"],
            "https://admin.example.com"
        );
        let methods = preflight.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            methods.contains("PATCH") && methods.contains("DELETE"),
            "{methods}"
        );

        let response = app
            .get_with("/users", ("origin", "https://admin.example.com"))
            .await;
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "https://admin.example.com"
        );
        let exposed = response.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(exposed.contains("etag") && exposed.contains("idempotent-replayed"), "{exposed}");

        let foreign = app
            .get_with("/users", ("origin", "https://evil.example"))
            .await;
        assert!(foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none());
    }

    #[tokio::test]
    async fn a_refused_preflight_is_a_json_error_that_says_why() {
        let app = spawn_app_with(|s| s.cors_origins = vec!["https://admin.example.com".into()]).await;
        for (origin, method, headers, says) in [
            ("https://evil.example", "GET", None, "Origin is not allowed to make this request"),
            ("https://admin.example.com", "PUT", None, "Requested method is not allowed"),
            (
                "https://admin.example.com",
                "GET",
                Some("x-custom"),
                "One or more request headers are not allowed",
            ),
        ] {
            let mut preflight = app
                .client
                .request(reqwest::Method::OPTIONS, app.url("/users"))
                .header("origin", origin)
                .header("access-control-request-method", method);
            if let Some(headers) = headers {
                preflight = preflight.header("access-control-request-headers", headers);
            }
            let response = preflight.send().await.unwrap();
            let case = format!("{origin} {method} {headers:?}");
            assert_error(response, StatusCode::BAD_REQUEST, "bad_request", Some(says), &case).await;
        }
    }

    #[tokio::test]
    async fn every_response_carries_a_request_id_and_a_sane_one_is_echoed() {
        let app = spawn_app().await;
        for path in ["/health", "/users", "/nope", "/users/not-a-uuid"] {
            let response = app.get(path).await;
            let id = response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{path}: {id}");
        }
        let echoed = app
            .get_with("/health", ("x-request-id", "trace-42.a_b"))
            .await;
        assert_eq!(echoed.headers()["x-request-id"], "trace-42.a_b");
        let replaced = app
            .client
            .get(app.url("/health"))
            .header("x-request-id", "x".repeat(65))
            .send()
            .await
            .unwrap();
        let id = replaced.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
}

/// A compressed body decoded by `coding` (`gzip` or `br`).
fn decoded(coding: &str, compressed: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    match coding {
        "gzip" => flate2::read::GzDecoder::new(compressed).read_to_end(&mut plain),
        "br" => brotli::Decompressor::new(compressed, 4096).read_to_end(&mut plain),
        other => panic!("unexpected coding {other}"),
    }
    .unwrap();
    plain
}

/// The response's `Content-Length`.
fn content_length(response: &reqwest::Response) -> u64 {
    response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}
