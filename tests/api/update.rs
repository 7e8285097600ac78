use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::assert_error;

on_every_backend! {
    #[tokio::test]
    async fn a_malformed_id_is_answered_before_the_body_is_read() {
        let app = spawn_app().await;
        let response = app
            .client
            .patch(app.url("/users/not-a-uuid"))
            .header("content-type", "text/plain")
            .body("x".repeat(100 * 1024))
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::BAD_REQUEST, "bad_request", None, "PATCH with a bad id").await;
    }

    #[tokio::test]
    async fn a_patch_changes_the_given_fields_and_moves_updated_at() {
        let app = spawn_app().await;
        let user = app.create_user("ada@example.com", "Ada").await;
        let id = user["id"].as_str().unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;

        let response = app.patch_user(id, &json!({"name": "  Countess  "})).await;
        assert_eq!(response.status(), StatusCode::OK);
        let patched: Value = response.json().await.unwrap();
        assert_eq!(patched["name"], "Countess");
        assert_eq!(patched["email"], "ada@example.com");
        assert_eq!(patched["id"], user["id"]);
        assert_eq!(patched["created_at"], user["created_at"]);
        assert!(
            patched["updated_at"].as_str().unwrap() > user["updated_at"].as_str().unwrap(),
            "{patched}"
        );
        let stored: Value = app.get_user(id).await.json().await.unwrap();
        assert_eq!(stored, patched);
    }

    #[tokio::test]
    async fn an_email_patch_is_normalised() {
        let app = spawn_app().await;
        let user = app.create_user("ada@example.com", "Ada").await;
        let id = user["id"].as_str().unwrap();
        let patched: Value = app
            .patch_user(id, &json!({"email": " Countess@Example.com "}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(patched["email"], "countess@example.com");
        let found: Vec<Value> = app
            .get("/users?email=COUNTESS@example.com")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
    }

    #[tokio::test]
    async fn an_empty_patch_or_equal_values_change_nothing_not_even_updated_at() {
        let app = spawn_app().await;
        let user = app.create_user("ada@example.com", "Ada").await;
        let id = user["id"].as_str().unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        for body in [
            json!({}),
            json!({"name": "Ada"}),
            json!({"email": "ADA@example.com ", "name": " Ada"}),
        ] {
            let response = app.patch_user(id, &body).await;
            assert_eq!(response.status(), StatusCode::OK, "{body}");
            let patched: Value = response.json().await.unwrap();
            assert_eq!(patched, user, "{body}");
        }
    }

    #[tokio::test]
    async fn id_and_timestamps_are_never_writable() {
        let app = spawn_app().await;
        let user = app.create_user("ada@example.com", "Ada").await;
        let id = user["id"].as_str().unwrap();
        let response = app
            .patch_user(
                id,
                &json!({
                    "id": "0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10",
                    "created_at": "2000-01-01T00:00:00.000000Z",
                    "updated_at": "2000-01-01T00:00:00.000000Z"
                }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let stored: Value = app.get_user(id).await.json().await.unwrap();
        assert_eq!(stored, user);
    }

    #[tokio::test]
    async fn patching_to_a_taken_email_is_a_conflict_and_changes_nothing() {
        let app = spawn_app().await;
        app.create_user("ada@example.com", "Ada").await;
        let grace = app.create_user("grace@example.com", "Grace").await;
        let id = grace["id"].as_str().unwrap();
        let response = app
            .patch_user(id, &json!({"email": "ADA@example.com", "name": "Renamed"}))
            .await;
        assert_error(
            response,
            StatusCode::CONFLICT,
            "conflict",
            Some("Email already exists"),
            "taken",
        )
        .await;
        let stored: Value = app.get_user(id).await.json().await.unwrap();
        assert_eq!(stored, grace);
    }

    #[tokio::test]
    async fn invalid_patches_are_rejected_and_change_nothing() {
        let app = spawn_app().await;
        let user = app.create_user("ada@example.com", "Ada").await;
        let id = user["id"].as_str().unwrap();
        let cases = [
            (json!({"email": "nope"}), "validation", "invalid email"),
            (json!({"name": ""}), "validation", "empty name"),
            (
                json!({"name": "Ada", "email": "a@b"}),
                "validation",
                "one field invalid",
            ),
            (json!({"name": null}), "bad_request", "null name"),
            (json!({"email": 7}), "bad_request", "number email"),
            (json!([]), "bad_request", "array body"),
        ];
        for (body, code, case) in cases {
            let response = app.patch_user(id, &body).await;
            assert_error(response, StatusCode::BAD_REQUEST, code, None, case).await;
        }
        let stored: Value = app.get_user(id).await.json().await.unwrap();
        assert_eq!(stored, user);
    }

    #[tokio::test]
    async fn patching_an_unknown_user_is_not_found() {
        let app = spawn_app().await;
        let response = app
            .patch_user(
                "0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10",
                &json!({"name": "X"}),
            )
            .await;
        assert_error(
            response,
            StatusCode::NOT_FOUND,
            "not_found",
            Some("User not found"),
            "unknown",
        )
        .await;
    }
}
